"""Wiring and supervision: source -> enrichment actors -> producer actor -> consumer pool.

The driver keeps at most ``max_in_flight`` batches between the source and Kafka's
acknowledgement (``ray.wait`` on the producer's results), so memory stays flat whatever the
speed of the API or the broker; each batch's enrichment result goes to the producer by
reference, never through the driver. Every actor restarts after a crash
(``max_restarts=-1``) and its interrupted call is retried (``max_task_retries=-1``): the
consumers start again from committed offsets, and a batch produced twice is deduplicated by
event_id in MongoDB. The run ends when the source is exhausted, every batch is acknowledged
and the consumer group has committed everything in the topic (lag 0).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fitray.clients.kafka import ensure_topics, partition_lag
from fitray.clients.ray import connect_ray
from fitray.config import Settings
from fitray.stream.consumer import ConsumerWorker
from fitray.stream.enrich import EnrichmentWorker, Provider
from fitray.stream.exceptions import StreamStalled
from fitray.stream.metrics import StreamMetrics
from fitray.stream.producer import BatchProducer, ProduceReport
from fitray.stream.source import RawTopicSource, SourceBatch, WorkoutGenerator
from fitray.stream.summary import StreamSummary

__all__ = ["StreamOptions", "StreamPipeline"]

log = logging.getLogger(__name__)
MAX_BATCH_FAILURES = 5
LAG_CHECK_INTERVAL_S = 0.5


@dataclass
class StreamOptions:
    """One run; ``None`` means the setting of the same name (see :mod:`fitray.config`)."""

    count: int | None = 1000
    duration_s: float | None = None
    rate_per_s: float | None = None
    seed: int = 0
    source: Literal["generator", "topic"] = "generator"
    provider: Provider = "http"
    consume: bool = True
    enrich_actors: int | None = None
    consumer_actors: int | None = None
    batch_size: int | None = None
    max_in_flight: int | None = None
    raw_topic: str | None = None
    topic: str | None = None
    dead_letter_topic: str | None = None
    group_id: str | None = None
    database: str | None = None
    drain_timeout_s: float = 120.0


class StreamPipeline:
    """Build, then :meth:`run`; the actor handles are attributes (fault tests kill them)."""

    def __init__(self, settings: Settings, options: StreamOptions | None = None) -> None:
        self.settings, self.options = settings, options or StreamOptions()
        o, s = self.options, settings
        self.topic = o.topic or s.kafka_enriched_topic
        self.dead_letter_topic = o.dead_letter_topic or s.kafka_dead_letter_topic
        self.group_id = o.group_id or s.stream_consumer_group
        self.batch_size = o.batch_size or s.stream_batch_size
        self.max_in_flight = o.max_in_flight or s.stream_max_in_flight
        if o.rate_per_s:  # a paced batch spans at most ~0.5 s, so pacing never stalls results
            self.batch_size = min(self.batch_size, max(1, int(o.rate_per_s / 2)))
        self.summary = StreamSummary()
        self.enrichers: list[Any] = []
        self.producer: Any = None
        self.consumers: list[Any] = []
        self._lag_metrics = StreamMetrics("consume")
        self._source_metrics = StreamMetrics("generate")
        self._resume_at: dict[int, float] = {}  # consumer index -> when its retry is due

    def run(self, on_progress: Callable[[StreamSummary], None] = lambda _: None) -> StreamSummary:
        connect_ray(self.settings)
        self._start_actors()
        source = self._source()
        self.summary.start()
        try:
            self._loop(source, on_progress)
        finally:
            self._stop_actors()
            source.close()
        self.summary.finish()
        on_progress(self.summary)
        return self.summary

    # -- set-up ----------------------------------------------------------------------------
    def _start_actors(self) -> None:
        import ray

        o, s = self.options, self.settings
        topics = [self.topic, self.dead_letter_topic]
        if o.source == "topic":
            topics.append(o.raw_topic or s.kafka_raw_topic)
        ensure_topics(s.kafka_bootstrap_servers, topics, partitions=s.kafka_partitions)
        remote: Any = ray.remote  # Ray's stubs know no options dict
        # SPREAD: across the nodes; by default zero-CPU actors mostly stay on the driver's
        supervised = {
            "num_cpus": 0,
            "max_restarts": -1,
            "max_task_retries": -1,
            "scheduling_strategy": "SPREAD",
        }
        n_enrich = o.enrich_actors or s.stream_enrich_actors
        enricher = remote(**supervised)(EnrichmentWorker)
        self.enrichers = [enricher.remote(s, provider=o.provider) for _ in range(n_enrich)]
        producer = remote(max_concurrency=self.max_in_flight + 2, **supervised)
        self.producer = producer(BatchProducer).remote(s, self.topic, self.dead_letter_topic)
        if o.consume:
            consumer = remote(**supervised)(ConsumerWorker)
            self.consumers = [
                consumer.remote(
                    s,
                    self.topic,
                    group_id=self.group_id,
                    database=o.database,
                    dead_letter_topic=self.dead_letter_topic,
                )
                for _ in range(o.consumer_actors or s.stream_consumer_actors)
            ]

    def _source(self) -> Any:
        o, s = self.options, self.settings
        if o.source == "topic":
            group = f"{self.group_id}-enrich"
            return RawTopicSource(s, o.raw_topic or s.kafka_raw_topic, group, idle_stop_s=5.0)
        return WorkoutGenerator.from_settings(
            s, seed=o.seed, count=o.count, duration_s=o.duration_s, rate_per_s=o.rate_per_s
        )

    def _stop_actors(self) -> None:
        import ray

        closing = [c.close.remote() for c in self.consumers] + [self.producer.close.remote()]
        closing += [e.close.remote() for e in self.enrichers]
        ray.wait(closing, num_returns=len(closing), timeout=30)
        for actor in [*self.consumers, self.producer, *self.enrichers]:
            ray.kill(actor, no_restart=True)

    # -- the loop --------------------------------------------------------------------------
    def _loop(self, source: Any, on_progress: Callable[[StreamSummary], None]) -> None:
        import ray

        batches = source.batches(self.batch_size)
        in_flight: deque[_InFlight] = deque()
        steps: dict[Any, int] = {}
        producing, drain = True, _Drain(self.options.drain_timeout_s)
        while True:
            while producing and len(in_flight) < self.max_in_flight:
                batch = next(batches, None)
                if batch is None:
                    producing = False
                else:
                    in_flight.append(self._submit(batch))
            self.summary.max_batches_in_flight = max(
                self.summary.max_batches_in_flight, len(in_flight)
            )
            busy, now = set(steps.values()), time.monotonic()
            for i, actor in enumerate(self.consumers):
                if i not in busy and now >= self._resume_at.get(i, 0.0):
                    steps[actor.step.remote()] = i
            waiting = [f.ref for f in in_flight if f.report is None] + list(steps)
            ready, _ = ray.wait(waiting, num_returns=1, timeout=0.2) if waiting else ([], [])
            if ready:
                ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
            self._collect(ready, in_flight, steps)
            self._acknowledge(in_flight, source)
            on_progress(self.summary)
            if not producing and not in_flight and self._drained(drain):
                self._collect(list(steps), in_flight, steps)  # the last reports, committed
                return

    def _submit(self, batch: SourceBatch, failures: int = 0) -> _InFlight:
        if not failures:
            self.summary.generated += len(batch.workouts)
            self._source_metrics.batch(0, len(batch.workouts), 0.0)
        enricher = self.enrichers[self.summary.batches % len(self.enrichers)]
        self.summary.batches += 1
        enriched = enricher.enrich.remote(batch.workouts)
        return _InFlight(self.producer.send_enriched.remote(enriched, batch.dead_letters), batch)

    def _collect(self, ready: list[Any], in_flight: deque[_InFlight], steps: dict) -> None:
        import ray

        by_ref = {f.ref: f for f in in_flight}
        for ref in ready:
            try:
                result = ray.get(ref)
            except Exception as exc:  # an actor died for good or a call raised: redo it
                self._failed(ref, exc, by_ref, steps)
                continue
            if ref in steps:
                index = steps.pop(ref)
                self._resume_at[index] = time.monotonic() + result.retry_after_s
                self.summary.add_step(result)
            else:
                by_ref[ref].report = result
                self.summary.add_produce(result)

    def _failed(self, ref: Any, exc: Exception, by_ref: dict, steps: dict) -> None:
        if ref in steps:
            log.warning("consumer step failed, retrying: %s", exc)
            del steps[ref]
            return
        flight = by_ref[ref]
        flight.failures += 1
        if flight.failures >= MAX_BATCH_FAILURES:
            raise StreamStalled(f"a batch failed {flight.failures} times; last: {exc}") from exc
        log.warning("batch failed (%d), resubmitting: %s", flight.failures, exc)
        redo = self._submit(flight.batch, flight.failures)
        flight.ref = redo.ref

    def _acknowledge(self, in_flight: deque[_InFlight], source: Any) -> None:
        """Batches leave in source order, so a raw-topic commit never passes a gap."""
        while in_flight and in_flight[0].report is not None:
            source.acknowledge(in_flight.popleft().batch)
            self.summary.batches_acked += 1

    def _drained(self, drain: _Drain) -> bool:
        if not self.consumers:
            return True
        if not drain.due():
            return False
        lag = self._lag()
        if lag is not None and sum(lag.values()) == 0:
            return True
        if drain.expired():
            raise StreamStalled(
                f"consumers left messages of {self.topic} uncommitted after "
                f"{drain.timeout_s:g}s (lag per partition: {lag or 'unknown, broker away'})"
            )
        return False

    def _lag(self) -> dict[int, int] | None:
        from confluent_kafka import KafkaException

        try:
            lag = partition_lag(self.settings, self.group_id, self.topic)
        except KafkaException as exc:  # the broker is away: keep waiting, within the deadline
            log.warning("consumer lag unavailable: %s", exc)
            return None
        self._lag_metrics.lag(self.topic, lag)
        self.summary.lag = sum(lag.values())
        return lag


@dataclass
class _InFlight:
    ref: Any
    batch: SourceBatch
    report: ProduceReport | None = None
    failures: int = 0


class _Drain:
    """Paces lag checks once production is done, and gives up after ``timeout_s``."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._since: float | None = None
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        self._since = self._since or now
        if now < self._next:
            return False
        self._next = now + LAG_CHECK_INTERVAL_S
        return True

    def expired(self) -> bool:
        return self._since is not None and time.monotonic() - self._since > self.timeout_s
