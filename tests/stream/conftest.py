"""Fixtures of the stream tests: an isolated stream (own topics, group, database) per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from fitray.config import Settings
from fitray.stream.pipeline import StreamOptions
from fitray.stream.source import event_id


@dataclass
class StreamEnv:
    settings: Settings
    topic: str
    dead_letter_topic: str
    group_id: str
    db: Any  # pymongo Database

    def options(self, **overrides: Any) -> StreamOptions:
        base = dict(
            topic=self.topic,
            dead_letter_topic=self.dead_letter_topic,
            group_id=self.group_id,
            database=self.db.name,
            enrich_actors=2,
            consumer_actors=2,
            drain_timeout_s=90.0,
        )
        return StreamOptions(**{**base, **overrides})

    @property
    def collection(self) -> Any:
        return self.db[self.settings.stream_collection]

    def stored_ids(self) -> list[str]:
        return [doc["_id"] for doc in self.collection.find({}, {"_id": 1})]


@pytest.fixture
def stream_env(stack: Settings, kafka_topics: Callable[..., str], mongo_db: Any) -> StreamEnv:
    settings = stack.model_copy(
        update={
            # the local API has no rate limit; the client's own must not be the bottleneck
            "calorie_rate_limit_per_s": 5000.0,
            "calorie_rate_burst": 500,
            "kafka_partitions": 3,
            "stream_batch_size": 250,
            "stream_poll_batch": 250,
        }
    )
    return StreamEnv(
        settings,
        kafka_topics("enriched", partitions=3),
        kafka_topics("dead-letter", partitions=1),
        f"test-group-{uuid.uuid4().hex[:8]}",
        mongo_db,
    )


def expected_ids(seed: int, count: int) -> set[str]:
    return {event_id(seed, i) for i in range(count)}


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str | Callable[[], str]) -> Any:
    """Poll ``condition`` until truthy; fail naming ``what`` (called then, if callable: it can
    say what is still missing) after the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s:g}s waiting for {what() if callable(what) else what}")
