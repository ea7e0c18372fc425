"""Bad input goes to the dead-letter topic with its context; everything else flows on."""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

from confluent_kafka.admin import NewTopic

from fitray.clients.kafka import admin_client, partition_lag
from fitray.dead_letters import DeadLetterCode, Stage
from fitray.stream.consumer import ConsumerWorker
from fitray.stream.dead_letter import DeadLetterRecord, decode_headers
from fitray.stream.enrich import EnrichedBatch
from fitray.stream.pipeline import StreamPipeline
from fitray.stream.producer import BatchProducer
from fitray.stream.source import WorkoutGenerator
from tests.stream.conftest import StreamEnv, wait_for
from tests.stream.helpers import TITLES, enriched, publish, read_all


def malformed(valid: dict[str, Any]) -> dict[str, tuple[bytes | None, str]]:
    """Each case breaks one thing of an otherwise valid record: (payload, expected reason)."""

    def variant(event_id: str, **changes: Any) -> bytes:
        return json.dumps({**valid, "event_id": event_id, **changes}).encode()  # NaN stays NaN

    missing = {k: v for k, v in valid.items() if k != "total_kcal"} | {"event_id": "missing"}
    good_utf8 = variant("invalid_utf8", title="Plank")
    return {
        "not_json": (b"{this is not json", "Invalid JSON"),
        "wrong_type": (variant("wrong_type", weight_lb="heavy"), "weight_lb: Input should be"),
        "missing_field": (json.dumps(missing).encode(), "total_kcal: Field required"),
        "huge": (variant("huge", title="x" * 600_000), "title: String should have at most"),
        "invalid_utf8": (good_utf8.replace(b'"Plank"', b'"Pl\xffank"'), "invalid unicode"),
        "nan": (variant("nan", weight_lb=float("nan")), "weight_lb: Input should be a finite"),
        "infinity": (
            variant("infinity", total_kcal=float("inf")),
            "total_kcal: Input should be a finite",
        ),
        "minus_infinity": (
            variant("minus_infinity", duration_min=float("-inf")),
            "duration_min: Input should be a finite",
        ),
        "empty": (None, "Invalid JSON"),
        "json_array": (b"[1, 2, 3]", "record: Input should be an object"),
    }


def test_invalid_messages_are_dead_lettered_with_headers_and_valid_ones_stored(
    stream_env: StreamEnv,
) -> None:
    s = stream_env.settings
    good = enriched(seed=5, count=300)
    bad = malformed(good[0].model_dump(mode="json"))
    messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in good]
    for i, (name, (value, _)) in enumerate(bad.items()):  # spread among the valid ones
        messages.insert(25 * i + 7, (name.encode(), value))
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
        payload, reason = bad[name]
        assert reason in headers["reason"], (name, headers["reason"])
        if name == "huge":
            assert headers["truncated"] == "true"
            assert len(message.value()) == s.stream_dead_letter_max_bytes
        else:
            assert (message.value() or b"") == (payload or b"")


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


def drain(env: StreamEnv, workers: list[ConsumerWorker]) -> None:
    def drained() -> bool:
        for worker in workers:
            worker.step()
        return sum(partition_lag(env.settings, env.group_id, env.topic).values()) == 0

    try:
        wait_for(drained, 60, "the consumers to commit every message")
    finally:
        for worker in workers:
            worker.close()


def test_only_the_record_kafka_refuses_is_dead_lettered_at_the_produce_stage(
    stream_env: StreamEnv,
) -> None:
    """The broker refuses a whole batch for one oversized record: its neighbours must still
    be delivered, and only the oversized one dead-lettered."""
    s = stream_env.settings
    small = f"test.small-{uuid.uuid4().hex[:8]}"
    admin = admin_client(s.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(small, 1, 1, config={"max.message.bytes": "4096"})])[
        small
    ].result(15)
    try:
        records = [(w.event_id, w.model_dump_json().encode()) for w in enriched(6, 3)]
        too_big = base64.b64encode(os.urandom(30_000))  # incompressible: lz4 cannot save it
        producer = BatchProducer(s, small, stream_env.dead_letter_topic)
        report = producer.send([*records, ("big-one", too_big)])
        producer.close()
    finally:
        admin.delete_topics([small])[small].result(15)
    assert (report.produced, report.dead_letters) == (3, {Stage.PRODUCE: 1})
    (letter,) = read_all(s.kafka_bootstrap_servers, stream_env.dead_letter_topic, 1)
    headers = decode_headers(letter.headers())
    assert (headers["stage"], headers["code"], letter.key()) == ("produce", "too_large", b"big-one")
    assert "MSG_SIZE_TOO_LARGE" in headers["reason"] and letter.value() == too_big


def test_the_producer_sends_a_split_batch_from_its_parts_with_every_dead_letter(
    stream_env: StreamEnv,
) -> None:
    """A batch enriched in parts by several actors reaches the producer as the parts: every
    record is produced once and the source's and each part's dead letters are all sent."""
    s = stream_env.settings
    records = [(w.event_id, w.model_dump_json().encode()) for w in enriched(8, 5)]

    def letter(key: str, stage: Stage) -> DeadLetterRecord:
        code = DeadLetterCode.INVALID_RECORD
        return DeadLetterRecord.of_object(
            {"event_id": key}, stage=stage, reason=f"{key} is bad", code=code, key=key
        )

    parts = [
        EnrichedBatch(records[:2], [letter("part-0", Stage.ENRICH)]),
        EnrichedBatch(records[2:], [letter("part-1", Stage.ENRICH)]),
    ]
    producer = BatchProducer(s, stream_env.topic, stream_env.dead_letter_topic)
    report = producer.send_enriched(*parts, source_dead_letters=[letter("source", Stage.SOURCE)])
    producer.close()
    assert (report.enriched, report.produced) == (5, 5)
    assert report.dead_letters == {Stage.ENRICH: 2, Stage.SOURCE: 1}
    stored = read_all(s.kafka_bootstrap_servers, stream_env.topic, 5)
    assert sorted(m.key() for m in stored) == sorted(k.encode() for k, _ in records)
    letters = read_all(s.kafka_bootstrap_servers, stream_env.dead_letter_topic, 3)
    assert sorted(m.key() for m in letters) == [b"part-0", b"part-1", b"source"]


def test_a_document_the_store_refuses_is_dead_lettered_at_the_store_stage(
    stream_env: StreamEnv,
) -> None:
    s = stream_env.settings
    stream_env.collection.create_index("title", unique=True)  # an operator's extra constraint
    first, second = enriched(8, 2)
    clash = second.model_copy(update={"title": first.title})
    messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in (first, clash)]
    publish(s.kafka_bootstrap_servers, stream_env.topic, messages)
    worker = ConsumerWorker(
        s, stream_env.topic, group_id=stream_env.group_id, database=stream_env.db.name,
        dead_letter_topic=stream_env.dead_letter_topic,
    )  # fmt: skip
    drain(stream_env, [worker])
    (stored,) = stream_env.stored_ids()  # whichever came first (they may sit in two partitions)
    (letter,) = read_all(s.kafka_bootstrap_servers, stream_env.dead_letter_topic, 1)
    headers = decode_headers(letter.headers())
    assert (headers["stage"], headers["code"]) == ("store", "store_rejected")
    assert {stored, letter.key().decode()} == {first.event_id, clash.event_id}
    assert "unique index other than _id" in headers["reason"]
