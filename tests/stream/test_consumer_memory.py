"""A consumer's memory stays bounded however far behind its partitions it is (issue 12, soak).

Two places could hold a consumer's backlog: librdkafka's prefetch queue (native memory,
invisible to Python) and Python objects the worker keeps between batches (pending batches,
dead letters, reports). Each test drains a real topic into the real store with one in-process
:class:`ConsumerWorker` and measures one of them; neither asserts a time.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import fitray.stream.consumer as consumer_module
from fitray.clients.kafka import CONSUMER_PREFETCH_KBYTES, consumer_config
from fitray.config import Settings
from fitray.stream.consumer import ConsumerWorker
from tests.stream.conftest import StreamEnv
from tests.stream.helpers import enriched, publish

pytestmark = pytest.mark.slow

PARTITIONS = 2
FETCH_OVERSHOOT_BYTES = PARTITIONS * 1_048_576  # one response: fetch.message.max.bytes each
PYTHON_GROWTH_PER_BATCH_BYTES = 16_384  # a kept message alone is ~400 B, x 500 per batch
DRAIN_DEADLINE_S = 180.0


Messages = list[tuple[bytes | None, bytes | None]]


def _messages(seed: int, count: int, invalid_every: int = 0) -> Messages:
    out: Messages = []
    for i, workout in enumerate(enriched(seed, count)):
        if invalid_every and i % invalid_every == 0:
            out.append((None, b'{"event_id": "not a workout"}'))  # dead-lettered
        else:
            out.append((workout.event_id.encode(), workout.model_dump_json().encode()))
    return out


def _drain(worker: ConsumerWorker, until: int, seen: list[int]) -> int:
    """Step until ``seen[0]`` messages reach ``until``; returns the batches taken."""
    deadline, batches = time.monotonic() + DRAIN_DEADLINE_S, 0
    while seen[0] < until:
        if time.monotonic() > deadline:
            pytest.fail(f"consumer drained {seen[0]} of {until} in {DRAIN_DEADLINE_S:g}s")
        report = worker.step()
        assert report.retrying is None, report.retrying
        seen[0] += report.consumed
        batches += 1 if report.consumed else 0
    return batches


def _worker(env: StreamEnv, settings: Settings, topic: str) -> ConsumerWorker:
    return ConsumerWorker(
        settings,
        topic,
        group_id=env.group_id,
        database=env.db.name,
        dead_letter_topic=env.dead_letter_topic,
    )


class PrefetchWatch:
    """librdkafka's statistics: messages fetched but not yet handed to the application."""

    def __init__(self, topic: str) -> None:
        self.topic, self.peak_messages, self.snapshots = topic, 0, 0

    def config(self, real: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def with_statistics(settings: Settings, group_id: str, **overrides: Any) -> dict:
            conf = real(settings, group_id, **overrides)
            return {**conf, "statistics.interval.ms": 100, "stats_cb": self.on_stats}

        return with_statistics

    def on_stats(self, text: str) -> None:
        partitions = json.loads(text)["topics"].get(self.topic, {}).get("partitions", {})
        # Fetching partitions only: once a partition stops (unassign, close) librdkafka resets
        # its app_offset while next_offset stays, which would read as the whole topic ahead.
        ahead = sum(
            p["next_offset"] - max(p["app_offset"], 0)  # a fresh topic starts at offset 0
            for key, p in partitions.items()
            if key != "-1" and p["next_offset"] >= 0 and p.get("fetch_state") == "active"
        )
        self.peak_messages = max(self.peak_messages, ahead)
        self.snapshots += 1


def test_a_consumer_behind_its_partitions_prefetches_a_bounded_backlog(
    stream_env: StreamEnv, kafka_topics: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backlog stays in Kafka: prefetched bytes stay within the configured bound plus one
    fetch response, while the store is far slower than the broker (librdkafka's defaults
    prefetch the whole 13 MB topic here)."""
    topic = kafka_topics("memory", partitions=PARTITIONS)
    messages = _messages(seed=51, count=35_000)
    publish(stream_env.settings.kafka_bootstrap_servers, topic, messages)
    mean_bytes = sum(len(value or b"") for _, value in messages) / len(messages)
    bound_bytes = CONSUMER_PREFETCH_KBYTES * 1024 + FETCH_OVERSHOOT_BYTES
    assert len(messages) * mean_bytes > 2 * bound_bytes  # the topic could overflow the bound

    watch = PrefetchWatch(topic)
    monkeypatch.setattr(consumer_module, "consumer_config", watch.config(consumer_config))
    worker = _worker(stream_env, stream_env.settings, topic)
    try:
        _drain(worker, len(messages), [0])
    finally:
        worker.close()

    assert stream_env.collection.count_documents({}) == len(messages)
    assert watch.snapshots >= 5, "too few statistics to see the prefetch"
    assert watch.peak_messages * mean_bytes <= bound_bytes, (
        f"{watch.peak_messages:,} messages ({watch.peak_messages * mean_bytes / 1e6:.1f} MB) "
        f"prefetched; bound {bound_bytes / 1e6:.1f} MB"
    )


def test_a_draining_consumer_keeps_no_python_objects_per_batch(stream_env: StreamEnv) -> None:
    """After a warm-up (connections, the JSON parser's bounded string cache), Python memory
    does not grow with the batches drained, dead letters included."""
    settings = stream_env.settings.model_copy(update={"stream_poll_batch": 500})
    messages = _messages(seed=52, count=16_000, invalid_every=50)
    publish(settings.kafka_bootstrap_servers, stream_env.topic, messages)
    worker, seen = _worker(stream_env, settings, stream_env.topic), [0]
    tracemalloc.start()
    try:
        _drain(worker, 8_000, seen)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        batches = _drain(worker, len(messages), seen)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        worker.close()

    stored = stream_env.collection.count_documents({})
    assert stored == len(messages) - len(messages) // 50
    assert batches >= 10
    assert growth / batches < PYTHON_GROWTH_PER_BATCH_BYTES, (
        f"Python memory grew {growth:,} B over {batches} batches ({growth // batches:,} B each)"
    )
