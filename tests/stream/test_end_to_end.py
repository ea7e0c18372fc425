"""The whole pipeline on the real stack: every generated event stored exactly once."""

from __future__ import annotations

from datetime import datetime

from fitray.schema import EnrichedWorkout
from fitray.stream.pipeline import StreamPipeline
from tests.stream.conftest import StreamEnv, expected_ids

COUNT = 2000


def test_every_event_is_stored_exactly_once_and_a_rerun_adds_nothing(
    stream_env: StreamEnv,
) -> None:
    summary = StreamPipeline(stream_env.settings, stream_env.options(count=COUNT, seed=11)).run()

    ids = stream_env.stored_ids()
    assert len(ids) == COUNT
    assert set(ids) == expected_ids(11, COUNT)
    assert (summary.generated, summary.enriched, summary.produced) == (COUNT, COUNT, COUNT)
    assert (summary.stored, summary.dead_lettered, summary.lag) == (COUNT, 0, 0)

    doc = stream_env.collection.find_one()
    assert set(doc) == {"_id", "stored_at", "stored_minute", *EnrichedWorkout.model_fields}
    assert doc["_id"] == doc["event_id"]
    assert isinstance(doc["stored_at"], datetime) and isinstance(doc["event_time"], datetime)

    # the same seed again: same event_ids, so every one is a duplicate skipped
    rerun = StreamPipeline(stream_env.settings, stream_env.options(count=COUNT, seed=11)).run()
    assert (rerun.stored, rerun.duplicates) == (0, COUNT)
    assert stream_env.collection.count_documents({}) == COUNT
