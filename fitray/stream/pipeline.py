"""Wiring and supervision: source -> enrichment actors -> producer actor -> consumer pool.

The driver keeps at most ``max_in_flight`` batches between the source and Kafka's
acknowledgement (``ray.wait`` on the producer's results), so memory stays flat whatever the
speed of the API or the broker; each batch's enrichment result goes to the producer by
reference, never through the driver. Every actor restarts after a crash
(``max_restarts=-1``) and its interrupted call is retried (``max_task_retries=-1``): the
consumers start again from committed offsets, and a batch produced twice is deduplicated by
event_id in MongoDB. The run ends when the source is exhausted (or :meth:`StreamPipeline.stop`
was called: Ctrl-C, SIGTERM), every batch is acknowledged and the consumer group has committed
everything in the topic (lag 0) -- or the drain's bound passed.

Nothing hangs silently (:mod:`fitray.stream.supervision`): a dependency the run waits for (the
document store, the calorie API) shows in ``summary.waiting`` and has a bound; a Ray head that
stops answering ends the run with :class:`~fitray.clients.ray.RayHeadLost`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fitray.calories.exceptions import CalorieMisconfigured, CalorieOutage
from fitray.clients.kafka import partition_lag
from fitray.clients.ray import RayHeadLost, connect_ray
from fitray.config import Settings
from fitray.stream.enrich import KeyRouter, submit_enrichment
from fitray.stream.exceptions import BrokerUnavailable, StreamStalled
from fitray.stream.metrics import StreamMetrics
from fitray.stream.producer import ProduceReport
from fitray.stream.source import SourceBatch
from fitray.stream.summary import StreamSummary
from fitray.stream.supervision import PROGRESS_QUIET_S, Drain, HeadWatch, StoreWatch, Waits
from fitray.stream.wiring import (
    Actors,
    StreamOptions,
    open_source,
    plan_run,
    start_actors,
    stop_actors,
)

__all__ = ["StreamOptions", "StreamPipeline"]

log = logging.getLogger(__name__)
MAX_BATCH_FAILURES = 5
LOOP_WAIT_S = 0.2  # longest wait on Ray before the source and consumers are served again
LAG_EVERY_S = 5.0  # the consumer-lag gauge is measured this often during a run (Ray drops a
# gauge that is not set again within ~30 s; dashboards and alerts want it while it matters)
# the whole run stops, cleanly: a server away past its bound, or a setting to fix
_STOPPING_ERRORS = (CalorieOutage, CalorieMisconfigured, BrokerUnavailable)


class StreamPipeline:
    """Build, :meth:`start` (optional: :meth:`run` starts), :meth:`run`; :meth:`stop` from a
    signal handler. The actor handles are attributes (fault tests kill them)."""

    def __init__(self, settings: Settings, options: StreamOptions | None = None) -> None:
        self.settings, self.options = settings, options or StreamOptions()
        s, self.plan = settings, plan_run(settings, self.options)
        self.topic, self.group_id = self.plan.topic, self.plan.group_id
        self.summary = StreamSummary()
        self.actors = Actors()
        self._started = False
        self._stop = threading.Event()
        self._head = HeadWatch(s.ray_address, s.ray_head_lost_after_s)
        self._waits = Waits()
        self._store = StoreWatch(self._waits, s.stream_store_max_wait_s)
        self._next_status_poll = 0.0
        self._next_lag = time.monotonic() + LAG_EVERY_S
        self._lag_metrics = StreamMetrics("consume")
        self._source_metrics = StreamMetrics("generate")
        self._resume_at: dict[int, float] = {}  # consumer index -> when its retry is due
        self._key_router: KeyRouter | None = None
        self._source: Any = None

    @property
    def enrichers(self) -> list[Any]:
        return self.actors.enrichers

    @property
    def consumers(self) -> list[Any]:
        return self.actors.consumers

    @property
    def producer(self) -> Any:
        return self.actors.producer

    def start(self) -> None:
        """Join Ray, create the topics, start the actors: each server that is down is one clear
        error here, before anything runs."""
        if not self._started:
            connect_ray(self.settings)
            self.actors = start_actors(self.settings, self.options, self.plan)
            self._started = True

    def stop(self, reason: str) -> None:
        """Take no new work; finish what is in flight, drain, then :meth:`run` returns."""
        self.summary.stopped_by = self.summary.stopped_by or reason
        self._stop.set()
        self._stop_source()

    def _stop_source(self) -> None:
        """A source waiting for input (the raw topic) returns now, not at its idle timeout."""
        if stop := getattr(self._source, "stop", None):
            stop()

    def run(self, on_progress: Callable[[StreamSummary], None] = lambda _: None) -> StreamSummary:
        self.start()
        source = self._source = open_source(self.settings, self.options, self.plan)
        if self._stop.is_set():  # stopped before the source was open
            self._stop_source()
        self.summary.start()
        head_lost = False
        try:
            self._loop(source, on_progress)
        except RayHeadLost:
            head_lost = True  # nothing can be asked of Ray any more: leave at once
            raise
        finally:
            if not head_lost:  # batches Kafka never acknowledged: its flush would wait in vain
                stop_actors(self.actors, timeout_s=5.0 if self.summary.unacknowledged else 30.0)
            source.close()
        self.summary.finish()
        on_progress(self.summary)
        return self.summary

    # -- the loop --------------------------------------------------------------------------
    def _loop(self, source: Any, on_progress: Callable[[StreamSummary], None]) -> None:
        import ray

        batches = source.batches(self.plan.batch_size)
        in_flight: deque[_InFlight] = deque()
        steps: dict[Any, int] = {}
        producing, drain = True, Drain(self.plan.drain_timeout_s)
        while True:
            producing = producing and not self._stop.is_set()
            not_due_s = 0.0  # a paced source is never waited for inside next(): consumers'
            while producing and len(in_flight) < self.plan.max_in_flight:  # steps go on
                not_due_s = source.due_in(self.plan.batch_size)
                if not_due_s > 0:
                    break
                batch = next(batches, None)
                if batch is None:
                    producing = False
                elif not batch.offsets and not batch.workouts:
                    break  # nothing came in this poll: tend what is in flight, then ask again
                else:
                    in_flight.append(self._submit(batch))
            self.summary.max_batches_in_flight = max(
                self.summary.max_batches_in_flight, len(in_flight)
            )
            self._step_consumers(steps)
            waiting = [f.ref for f in in_flight if f.report is None] + list(steps)
            timeout = min(LOOP_WAIT_S, not_due_s) if not_due_s else LOOP_WAIT_S
            if not waiting and not_due_s:
                time.sleep(timeout)
            ready, _ = ray.wait(waiting, num_returns=1, timeout=timeout) if waiting else ([], [])
            if ready:
                ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
                self._head.progressed()
            self._collect(ready, in_flight, steps)
            self._acknowledge(in_flight, source)
            self._supervise(in_flight)
            if self.consumers and time.monotonic() >= self._next_lag:
                self._lag(quiet=True)
            on_progress(self.summary)
            if not producing and in_flight and self._unacknowledged_past(drain, in_flight):
                return
            if not producing and not in_flight and self._drained(drain):
                self._collect(list(steps), in_flight, steps)  # the last reports, committed
                return

    def _step_consumers(self, steps: dict[Any, int]) -> None:
        busy, now = set(steps.values()), time.monotonic()
        for i, actor in enumerate(self.consumers):
            if i not in busy and now >= self._resume_at.get(i, 0.0):
                steps[actor.step.remote()] = i

    def _submit(self, batch: SourceBatch, failures: int = 0) -> _InFlight:
        if not failures:
            self.summary.generated += len(batch.workouts)
            self._source_metrics.batch(0, len(batch.workouts), 0.0)
        parts = submit_enrichment(
            self.enrichers, batch.workouts, self._router(), self.summary.batches
        )
        self.summary.batches += 1
        send = self.actors.producer.send_enriched
        return _InFlight(send.remote(*parts, source_dead_letters=batch.dead_letters), batch)

    def _router(self) -> KeyRouter | None:
        """Key routing (``stream_enrich_routing``), built on first use: it reads the mapping."""
        if self.settings.stream_enrich_routing != "key" or len(self.enrichers) < 2:
            return None
        if self._key_router is None:
            self._key_router = KeyRouter.from_settings(self.settings)
        return self._key_router

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
                self._store.observe(result.waiting_for, result.retrying, result.committed)
                self.summary.waiting = self._waits.describe()
            else:
                by_ref[ref].report = result
                self.summary.add_produce(result)

    def _failed(self, ref: Any, exc: Exception, by_ref: dict, steps: dict) -> None:
        if isinstance(exc, _STOPPING_ERRORS):
            raise _cause(exc) from None  # an outage or a setting to fix: not this batch's fault
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

    # -- supervision -----------------------------------------------------------------------
    def _supervise(self, in_flight: deque[_InFlight]) -> None:
        self._head.check()
        self._poll_enrichers(in_flight)
        self.summary.waiting = self._waits.describe()

    def _poll_enrichers(self, in_flight: deque[_InFlight]) -> None:
        """Ask the enrichers what they wait for when batches have been quiet for a while."""
        import ray

        now = time.monotonic()
        oldest = in_flight[0].submitted if in_flight else now
        if now - oldest < PROGRESS_QUIET_S or now < self._next_status_poll:
            if not in_flight:
                self._waits.over("calorie API")
            return
        self._next_status_poll = now + 1.0
        refs = [e.waiting.remote() for e in self.enrichers]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=1.0)
        states = [state for state in ray.get(ready) if state]
        if states:
            self._waits.waiting("calorie API", states[0])
        else:
            self._waits.over("calorie API")

    def _unacknowledged_past(self, drain: Drain, in_flight: deque[_InFlight]) -> bool:
        """Batches Kafka has not acknowledged share the drain's bound: past it, a stop ends
        the run saying how many events Kafka did not confirm; otherwise the run fails in one line.
        (Each delivery alone may take ``delivery.timeout.ms`` times the produce attempts.)"""
        drain.start()
        if not drain.expired():
            return False
        events = sum(len(f.batch.workouts) for f in in_flight)
        self.summary.unacknowledged = events
        what = (
            f"Kafka at {self.settings.kafka_bootstrap_servers} (FITRAY_KAFKA_BOOTSTRAP_SERVERS) "
            f"had not acknowledged {len(in_flight)} batches ({events:,} events) "
            f"{drain.timeout_s:g}s after the last one was sent (FITRAY_STREAM_DRAIN_TIMEOUT_S)"
        )
        if self._stop.is_set():
            log.warning("%s; a rerun stores those events once", what)
            return True
        raise StreamStalled(
            f"{what}; is the broker up? Run again once it is: event ids make a rerun store "
            "each event once (a raw-topic source delivers those events again by itself)."
        )

    def _drained(self, drain: Drain) -> bool:
        if not self.consumers:
            return True
        if not drain.due():
            return False
        lag = self._lag()
        if lag is not None and sum(lag.values()) == 0:
            return True
        if not drain.expired():
            return False
        left = f"lag per partition: {lag or 'unknown, broker away'}"
        if self._stop.is_set():  # stopping: say what is left and go; it is redelivered later
            log.warning(
                "drain ended after %gs with messages uncommitted (%s)", drain.timeout_s, left
            )
            return True
        raise StreamStalled(
            f"consumers left messages of {self.topic} uncommitted after "
            f"{drain.timeout_s:g}s ({left})"
        )

    @property
    def _kafka_wait(self) -> str:
        bound_s = self.settings.kafka_delivery_timeout_ms / 1000
        return (
            f"waiting for Kafka at {self.settings.kafka_bootstrap_servers} "
            f"(FITRAY_KAFKA_BOOTSTRAP_SERVERS); deliveries give up after {bound_s:g} s"
        )

    def _lag(self, *, quiet: bool = False) -> dict[int, int] | None:
        """Lag per partition, also set as the gauge; ``None`` while the broker is away (said
        once per drain check; the periodic gauge update stays quiet: the run says it waits)."""
        from confluent_kafka import KafkaException

        self._next_lag = time.monotonic() + LAG_EVERY_S
        try:
            timeout_s = 1.0 if quiet else 10.0  # the loop is not held long for a gauge
            lag = partition_lag(self.settings, self.group_id, self.topic, timeout_s=timeout_s)
        except KafkaException as exc:  # the broker is away: keep waiting, within the deadline
            (log.debug if quiet else log.warning)("consumer lag unavailable: %s", exc)
            self._waits.waiting("kafka", self._kafka_wait)
            return None
        self._waits.over("kafka")
        self._lag_metrics.lag(self.topic, lag)
        self.summary.lag = sum(lag.values())
        return lag


def _cause(exc: BaseException) -> BaseException:
    """The original exception inside a Ray task error (Ray chains it as ``cause``)."""
    while getattr(exc, "cause", None) is not None:
        exc = exc.cause  # type: ignore[attr-defined]
    return exc


@dataclass
class _InFlight:
    ref: Any
    batch: SourceBatch
    report: ProduceReport | None = None
    failures: int = 0
    submitted: float = field(default_factory=time.monotonic)
