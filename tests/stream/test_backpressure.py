"""Backpressure: however slow the stage after it, the source pauses at the in-flight bound
instead of buffering workouts without limit (the driver's memory stays bounded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fitray.stream.pipeline import StreamPipeline
from fitray.stream.summary import StreamSummary
from tests.stream.conftest import StreamEnv

pytestmark = pytest.mark.slow
BATCH, BOUND, COUNT = 10, 2, 120


def test_the_source_pauses_at_the_in_flight_bound(
    stream_env: StreamEnv, calorie_service: Callable[..., Any]
) -> None:
    """Enrichment is made slow (150 ms a call, two at a time): a free-running source would
    pull all 12 batches at once. The consumer side is off, so nothing downstream of Kafka
    can hide the bound."""
    service = calorie_service(latency_ms=150)
    settings = stream_env.settings.model_copy(
        update={"calorie_api_url": service.url, "calorie_concurrency": 2, "calorie_cache_size": 0}
    )
    options = stream_env.options(
        count=COUNT, batch_size=BATCH, max_in_flight=BOUND, enrich_actors=1, consume=False
    )
    seen: list[tuple[int, int, int]] = []

    def watch(summary: StreamSummary) -> None:
        seen.append((summary.generated, summary.batches, summary.batches_acked))

    summary = StreamPipeline(settings, options).run(watch)

    assert summary.produced == COUNT and summary.batches_acked == COUNT // BATCH
    for generated, taken, acked in seen:
        assert taken - acked <= BOUND, (taken, acked)
        assert generated <= (acked + BOUND) * BATCH  # workouts pulled: never ahead of the bound
    assert summary.max_batches_in_flight == BOUND  # the bound was reached: the source waited
    assert len({taken for _, taken, _ in seen}) > COUNT // BATCH // 2  # pulled bit by bit
