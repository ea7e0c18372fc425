"""Counters of the calorie client, kept in-process and, inside Ray, exported as Ray metrics.

:class:`ClientStats` is a plain object tests and the CLI summary read. :class:`StatsRecorder`
updates it per event and exports it to ``ray.util.metrics`` (visible in the Ray dashboard)
when Ray is initialised in this process: counters as their growth since the last export, once
per batch (:meth:`StatsRecorder.flush`: a Ray metric update costs microseconds, a cache hit
less), call latencies and the breaker's state as they happen. The metrics are created on first
use, tagged by provider, so importing or building a client never touches Ray.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fitray.clients.ray import ray_running
from fitray.dead_letters import METRIC_TAG, DeadLetterCode

__all__ = ["BREAKER_LEVELS", "LATENCY_BOUNDS_S", "ClientStats", "StatsRecorder"]

BREAKER_LEVELS = {"closed": 0, "half_open": 1, "open": 2}  # the breaker gauge's values
LATENCY_BOUNDS_S: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class ClientStats:
    calls: int = 0  # provider calls made (HTTP requests for the HTTP provider)
    enriched: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    coalesced: int = 0  # cache misses answered by a call made for another lookup (single flight)
    retries: int = 0
    dead_letters: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # failed calls by code
    dead_letter_codes: Counter[DeadLetterCode] = field(default_factory=Counter)
    # latency_counts[i]: calls that took <= LATENCY_BOUNDS_S[i]; the last slot is "longer"
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_S) + 1))

    def record_latency(self, seconds: float) -> None:
        self.latency_counts[bisect_left(LATENCY_BOUNDS_S, seconds)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "enriched": self.enriched,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "coalesced": self.coalesced,
            "retries": self.retries,
            "dead_letters": self.dead_letters,
            "failures": dict(self.failures),
            "dead_letter_codes": dict(self.dead_letter_codes),
            "latency_le_s": dict(
                zip([*map(str, LATENCY_BOUNDS_S), "inf"], self.latency_counts, strict=True)
            ),
        }


class StatsRecorder:
    """One method per event; each updates :class:`ClientStats`; :meth:`flush` exports."""

    _COUNTERS = ("calls", "enriched", "cache_hits", "cache_misses", "coalesced", "retries")

    def __init__(self, stats: ClientStats, provider: str) -> None:
        self.stats = stats
        self.provider = provider
        self._metrics: _RayMetrics | None = None
        self._exported: dict[str, int] = dict.fromkeys(self._COUNTERS, 0)
        self._exported_failures: Counter[str] = Counter()
        self._exported_letters: Counter[DeadLetterCode] = Counter()
        self._breaker_level: int | None = None

    def call(self, seconds: float, *, export: bool = True) -> None:
        """One provider call; ``export=False`` keeps its latency out of Ray's histogram (an
        in-process answer: a Ray metric record costs more than the lookup itself)."""
        self.stats.calls += 1
        self.stats.record_latency(seconds)
        if export and (metrics := self._ray()):
            metrics.latency.observe(seconds)

    def cache(self, *, hit: bool) -> None:
        if hit:
            self.stats.cache_hits += 1
        else:
            self.stats.cache_misses += 1

    def coalesced(self, lookups: int) -> None:
        self.stats.coalesced += lookups

    def retry(self) -> None:
        self.stats.retries += 1

    def failure(self, code: str) -> None:
        self.stats.failures[code] += 1

    def dead_letter(self, code: DeadLetterCode) -> None:
        self.stats.dead_letters += 1
        self.stats.dead_letter_codes[code] += 1

    def breaker(self, state: str) -> None:
        """The circuit breaker's state, as a gauge: 0 closed, 1 half-open, 2 open."""
        self._breaker_level = BREAKER_LEVELS[state]
        if metrics := self._ray():
            metrics.breaker.set(self._breaker_level)

    def enriched(self) -> None:
        self.stats.enriched += 1

    def flush(self) -> None:
        """Export what the counters gained since the last flush (inside Ray; else nothing)."""
        if (metrics := self._ray()) is None:
            return
        for name in self._COUNTERS:
            now = getattr(self.stats, name)
            if grown := now - self._exported[name]:
                getattr(metrics, name).inc(grown)
                self._exported[name] = now
        for code, grown in (self.stats.failures - self._exported_failures).items():
            metrics.failures.inc(grown, tags={METRIC_TAG: code})
        for letter, grown in (self.stats.dead_letter_codes - self._exported_letters).items():
            metrics.dead_letters.inc(grown, tags={METRIC_TAG: letter.value})
        self._exported_failures = Counter(self.stats.failures)
        self._exported_letters = Counter(self.stats.dead_letter_codes)
        if self._breaker_level is not None:  # Ray drops a gauge not set for ~30 s: set it again
            metrics.breaker.set(self._breaker_level)

    def _ray(self) -> _RayMetrics | None:
        if self._metrics is None:
            if not ray_running():
                return None
            self._metrics = _RayMetrics(self.provider)
        return self._metrics


class _RayMetrics:
    def __init__(self, provider: str) -> None:
        from ray.util.metrics import Counter as RayCounter
        from ray.util.metrics import Gauge, Histogram

        def counter(name: str, description: str, *extra_tags: str) -> RayCounter:
            metric = RayCounter(
                f"fitray_calorie_{name}", description, tag_keys=("provider", *extra_tags)
            )
            metric.set_default_tags({"provider": provider})
            return metric

        self.calls = counter("calls", "Calorie provider calls made.")
        self.enriched = counter("enriched", "Workouts enriched with calories.")
        self.cache_hits = counter("cache_hits", "Calorie lookups answered by the cache.")
        self.cache_misses = counter("cache_misses", "Calorie lookups the cache could not answer.")
        self.coalesced = counter(
            "coalesced", "Cache misses answered by a call made for another lookup."
        )
        self.retries = counter("retries", "Calorie provider calls retried.")
        self.failures = counter("failures", "Failed calorie provider calls.", METRIC_TAG)
        self.dead_letters = counter("dead_letters", "Workouts dead-lettered.", METRIC_TAG)
        self.latency = Histogram(
            "fitray_calorie_latency_s",
            "Latency of one calorie provider call, seconds.",
            boundaries=list(LATENCY_BOUNDS_S),
            tag_keys=("provider",),
        )
        self.latency.set_default_tags({"provider": provider})
        self.breaker = Gauge(
            "fitray_calorie_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            tag_keys=("provider",),
        )  # fmt: skip
        self.breaker.set_default_tags({"provider": provider})
