"""Bad input goes to the dead-letter topic with its context; everything else flows on."""

from __future__ import annotations

import json
from typing import Any

from fitray.clients.kafka import partition_lag
from fitray.stream.consumer import ConsumerWorker
from fitray.stream.dead_letter import decode_headers
from fitray.stream.pipeline import StreamPipeline
from fitray.stream.source import WorkoutGenerator
from tests.stream.conftest import StreamEnv, wait_for
from tests.stream.helpers import TITLES, enriched, publish, read_all


def malformed(valid: dict[str, Any]) -> dict[str, bytes | None]:
    wrong_type = {**valid, "event_id": "bad-type", "weight_lb": "heavy"}
    missing = {k: v for k, v in valid.items() if k != "total_kcal"} | {"event_id": "missing"}
    huge = {**valid, "event_id": "huge", "title": "x" * 600_000}
    return {
        "not_json": b"{this is not json",
        "wrong_type": json.dumps(wrong_type).encode(),
        "missing_field": json.dumps(missing).encode(),
        "huge": json.dumps(huge).encode(),
        "invalid_utf8": b'{"event_id": "\xff\xfe\xfd"}',
        "empty": None,
        "json_array": b"[1, 2, 3]",
    }


def test_invalid_messages_are_dead_lettered_with_headers_and_valid_ones_stored(
    stream_env: StreamEnv,
) -> None:
    s = stream_env.settings
    good = enriched(seed=5, count=300)
    bad = malformed(good[0].model_dump(mode="json"))
    messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in good]
    for i, (name, value) in enumerate(bad.items()):  # spread among the valid ones
        messages.insert(40 * i + 7, (name.encode(), value))
    publish(s.kafka_bootstrap_servers, stream_env.topic, messages)

    workers = [
        ConsumerWorker(
            s,
            stream_env.topic,
            group_id=stream_env.group_id,
            database=stream_env.db.name,
            dead_letter_topic=stream_env.dead_letter_topic,
        )
        for _ in range(2)
    ]
    try:

        def drained() -> bool:
            for worker in workers:
                worker.step()
            return sum(partition_lag(s, stream_env.group_id, stream_env.topic).values()) == 0

        wait_for(drained, 60, "the consumers to commit every message")
    finally:
        for worker in workers:
            worker.close()

    assert sorted(stream_env.stored_ids()) == sorted(w.event_id for w in good)
    letters = read_all(s.kafka_bootstrap_servers, stream_env.dead_letter_topic, len(bad))
    assert len(letters) == len(bad)
    by_key = {m.key().decode(): (decode_headers(m.headers()), m) for m in letters}
    assert set(by_key) == set(bad)
    for name, (headers, message) in by_key.items():
        assert headers["stage"] == "consume" and headers["code"] == "invalid_record"
        assert headers["source.topic"] == stream_env.topic
        assert int(headers["source.offset"]) >= 0 and headers["source.partition"].isdigit()
        assert headers["reason"]
        if name == "huge":
            assert headers["truncated"] == "true"
            assert len(message.value()) == s.stream_dead_letter_max_bytes
        else:
            assert (message.value() or b"") == (bad[name] or b"")
    assert "weight_lb" in by_key["wrong_type"][0]["reason"]
    assert "total_kcal" in by_key["missing_field"][0]["reason"]


def test_raw_topic_source_dead_letters_invalid_workouts_and_enriches_the_rest(
    stream_env: StreamEnv, kafka_topics: Any
) -> None:
    s = stream_env.settings
    raw_topic = kafka_topics("raw", partitions=2)
    workouts = [
        w for b in WorkoutGenerator(TITLES, seed=9, count=400).batches(400) for w in b.workouts
    ]
    messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in workouts]
    messages[100:100] = [(b"bad-1", b"nope"), (b"bad-2", b'{"event_id": "x", "weight_lb": 9}')]
    publish(s.kafka_bootstrap_servers, raw_topic, messages)

    options = stream_env.options(source="topic", raw_topic=raw_topic, count=None)
    summary = StreamPipeline(s, options).run()

    assert sorted(stream_env.stored_ids()) == sorted(w.event_id for w in workouts)
    assert summary.dead_letters == {"source": 2}
    letters = read_all(s.kafka_bootstrap_servers, stream_env.dead_letter_topic, 2)
    assert {decode_headers(m.headers())["source.topic"] for m in letters} == {raw_topic}
    # the raw offsets were committed once the batches reached the enriched topic
    assert sum(partition_lag(s, f"{stream_env.group_id}-enrich", raw_topic).values()) == 0
