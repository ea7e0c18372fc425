"""Dead letters listed and replayed: an outage's letters replayed into the raw topic end with
every event stored once, and a second replay stores nothing twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fitray.dead_letters import DeadLetterCode, Stage
from fitray.stream.dead_letter import DeadLetterRecord, DeadLetterWriter
from fitray.stream.source import WorkoutGenerator
from tests.failures.conftest import Command, stream_env_vars
from tests.stream.conftest import StreamEnv
from tests.stream.helpers import TITLES, publish

pytestmark = pytest.mark.slow


def test_a_replayed_outage_ends_with_every_event_stored_once(
    stream_env: StreamEnv, fitray: Callable[..., Command], kafka_topics: Any
) -> None:
    s = stream_env.settings
    workouts = [w for b in WorkoutGenerator(TITLES, seed=95, count=300).batches(300)
                for w in b.workouts]  # fmt: skip
    raw_topic = kafka_topics("raw", partitions=2)
    env = stream_env_vars(stream_env, FITRAY_KAFKA_RAW_TOPIC=raw_topic)
    # 200 workouts arrive; 100 were dead-lettered at enrichment by an outage (what fitray <= 0.1
    # wrote for every event of an outage, and still writes for a workout that keeps failing
    # while the API answers others) -- plus one invalid record that cannot be replayed
    arrived = [(w.event_id.encode(), w.model_dump_json().encode()) for w in workouts[:200]]
    publish(s.kafka_bootstrap_servers, raw_topic, arrived)
    letters = [
        DeadLetterRecord.of_object(
            w.model_dump(mode="json"), stage=Stage.ENRICH, code=DeadLetterCode.API_UNAVAILABLE,
            reason="calorie API server error (503); kept failing", key=w.event_id,
        )
        for w in workouts[200:]
    ]  # fmt: skip
    letters.append(DeadLetterRecord(b"{not json", Stage.CONSUME, "Invalid JSON",
                                    DeadLetterCode.INVALID_RECORD))  # fmt: skip
    DeadLetterWriter(s, stream_env.dead_letter_topic).send(letters)

    run = ("stream", "run", "--source", "topic", "--json")
    assert json.loads(fitray(*run, env=env).finish()[1])["stored"] == 200

    code, stdout, stderr = fitray("dead-letters", "list", "--json", env=env).finish()
    assert code == 0, stderr
    listed = json.loads(stdout)
    assert listed == {"total": 101, "by_stage": {"consume": {"invalid_record": 1},
                                                 "enrich": {"api_unavailable": 100}}}  # fmt: skip

    code, stdout, stderr = fitray("dead-letters", "replay", "--code", "api_unavailable",
                                  env=env).finish()  # fmt: skip
    assert code == 0, stderr
    assert "replayed 100 workout(s)" in stdout
    summary = json.loads(fitray(*run, env=env).finish()[1])
    assert (summary["stored"], summary["dead_lettered"]) == (100, 0)
    stored = stream_env.stored_ids()
    assert len(stored) == 300 and set(stored) == {w.event_id for w in workouts}

    # everything, again: the invalid one is counted as not replayable, the rest are duplicates
    code, stdout, _ = fitray("dead-letters", "replay", "--since", "1d", env=env).finish()
    assert "replayed 100 workout(s)" in stdout and "not replayable: 1" in stdout
    again = json.loads(fitray(*run, env=env).finish()[1])
    assert (again["stored"], again["duplicates"]) == (0, 100)
    assert len(stream_env.stored_ids()) == 300
