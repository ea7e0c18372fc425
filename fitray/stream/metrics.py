"""Ray metrics of the stream pipeline, one set per stage, for the Ray dashboard.

Every stage (``generate`` plus the dead-letter stages of :class:`fitray.dead_letters.Stage`)
reports events in and out and batch latency; dead letters are counted by stage and code; the
consumer side adds duplicates skipped and the consumer lag per partition. Outside Ray (a plain
process) every call is a no-op, so the same code runs in tests and in the standalone consumer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fitray.clients.ray import ray_running
from fitray.dead_letters import METRIC_TAG

__all__ = ["LATENCY_BOUNDS_S", "StreamMetrics"]

LATENCY_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SHARED: dict[str, Any] = {}


def _ray_metrics() -> dict[str, Any] | None:
    """The metric objects, made once per process, only if Ray is initialised here."""
    if not ray_running():
        return None
    if not _SHARED:
        from ray.util.metrics import Counter, Gauge, Histogram

        stage = ("stage",)
        _SHARED.update(
            events_in=Counter("fitray_stream_events_in", "Events into a stage.", stage),
            events_out=Counter("fitray_stream_events_out", "Events out of a stage.", stage),
            dead_letters=Counter(
                "fitray_stream_dead_letters", "Events dead-lettered.", ("stage", METRIC_TAG)
            ),
            duplicates=Counter(
                "fitray_stream_duplicates", "Events already stored (skipped).", stage
            ),
            latency=Histogram(
                "fitray_stream_batch_latency_s",
                "Latency of one batch in a stage, seconds.",
                boundaries=list(LATENCY_BOUNDS_S),
                tag_keys=stage,
            ),
            lag=Gauge(
                "fitray_stream_consumer_lag",
                "Messages not yet committed by the consumer group.",
                ("topic", "partition"),
            ),
        )
    return _SHARED


class StreamMetrics:
    """The metrics of one stage; cheap to create, resolves Ray lazily on first use."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def batch(self, n_in: int, n_out: int, seconds: float) -> None:
        if (m := _ray_metrics()) is None:
            return
        tags = {"stage": self.stage}
        if n_in:
            m["events_in"].inc(n_in, tags)
        if n_out:
            m["events_out"].inc(n_out, tags)
        m["latency"].observe(seconds, tags)

    def dead_letters(self, letters: Iterable[Any]) -> None:
        if (m := _ray_metrics()) is None:
            return
        for letter in letters:
            m["dead_letters"].inc(1, {"stage": letter.stage.value, METRIC_TAG: letter.code.value})

    def duplicates(self, n: int) -> None:
        if n and (m := _ray_metrics()) is not None:
            m["duplicates"].inc(n, {"stage": self.stage})

    def lag(self, topic: str, lag_by_partition: dict[int, int]) -> None:
        if (m := _ray_metrics()) is None:
            return
        for partition, lag in lag_by_partition.items():
            m["lag"].set(lag, {"topic": topic, "partition": str(partition)})
