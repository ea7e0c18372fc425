"""The calorie client: workouts in, enriched workouts and dead letters out.

Per batch: resolve every title to an activity and look its key up in the cache -- the key is
what the request would send (:mod:`fitray.calories.cache`: the activity and the weight rounded
to ``weight_step_lb``); then ask the provider once per key still missing
(:mod:`fitray.calories.lookup`: concurrent lookups of one key, in this batch or another, share
one flight; a flight takes a concurrency slot, a rate-limit token, the circuit breaker's leave
and a per-request deadline, and is retried with backoff on transient failures) -- and derive
each workout's total. Bad input (an unresolvable title, an activity the API does not know,
parameters it rejects) becomes a :class:`DeadLetter` with its reason; it never fails the
batch. A dependency failure is not bad input: while the API answers nobody, every workout
waits (the breaker's cool-downs, backoff); past ``max_wait_s`` the batch raises
:class:`CalorieOutage`, and a refused key or URL raises :class:`CalorieMisconfigured` at once.
Only a key that keeps failing while the API answers others is dead-lettered after the wait
(``api_unavailable``, replayable), with every workout that waited for it.

Each record is validated against the schema as it is built, from its fields (pydantic-core
does that in ~3 us, less than ``model_construct`` takes in Python), so what leaves the client
is what the consumer will accept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache, key_space, sent_weight
from fitray.calories.health import ApiHealth
from fitray.calories.lookup import (
    QUOTE_DURATION_MIN,
    Answer,
    Failure,
    KeyLookups,
    Outcome,
    outcome_of,
)
from fitray.calories.outcomes import (
    DeadLetter,
    EnrichmentResult,
    dead_letter_code,
    event_id_of,
)
from fitray.calories.provider import CalorieProvider, HttpCalorieProvider
from fitray.calories.ratelimit import RateLimiter, rate_limiter_for
from fitray.calories.retry import Backoff
from fitray.calories.stats import ClientStats, StatsRecorder
from fitray.config import Settings
from fitray.exceptions import FitrayError, TransientError
from fitray.schema import EnrichedWorkout, RawWorkout, ResolutionMethod, parse_raw

__all__ = ["QUOTE_DURATION_MIN", "CalorieClient", "ClientStats", "Resolver"]

log = logging.getLogger(__name__)
_TABLE_ACTIVITIES = 248  # data/activities.csv, for resolvers that do not say


class _Resolution(Protocol):
    @property
    def activity(self) -> str: ...
    @property
    def method(self) -> ResolutionMethod: ...


class Resolver(Protocol):
    """What the client needs of :class:`fitray.calories.resolve.ActivityResolver`."""

    def resolve(self, title: str) -> _Resolution: ...


@dataclass(slots=True)
class _Job:
    """One workout of a batch on its way: resolved, keyed, then answered or failed."""

    raw: RawWorkout
    resolution: _Resolution
    key: tuple[str, float]
    outcome: Outcome | None = None


class CalorieClient:
    """Build with :meth:`from_settings`; ``async with`` closes the provider's connections.

    ``single_flight=False`` makes every workout that misses the cache call on its own (the
    design before single flight): kept only to measure what coalescing saves."""

    def __init__(
        self,
        provider: CalorieProvider,
        resolver: Resolver,
        limiter: RateLimiter | None = None,
        *,
        concurrency: int = 32,
        timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        cache: QuoteCache | None = None,
        weight_step_lb: float = 1.0,
        single_flight: bool = True,
    ) -> None:
        self.provider, self.resolver = provider, resolver
        self.cache = cache if cache is not None else QuoteCache()
        self.weight_step_lb = weight_step_lb
        self.stats = ClientStats()
        self._record = StatsRecorder(self.stats, provider.name)
        # an in-process provider (the table) answers at once: no flight, retry or token
        self._answer_now: Callable[[str, float], float] | None = getattr(
            provider, "kcal_per_hour_now", None
        )
        self.lookups = KeyLookups(
            provider, limiter, self.cache, self._record,
            concurrency=concurrency, timeout_s=timeout_s, backoff=backoff or Backoff(),
            breaker=breaker or CircuitBreaker(), single_flight=single_flight,
        )  # fmt: skip

    @property
    def breaker(self) -> CircuitBreaker:
        return self.lookups.breaker

    @property
    def health(self) -> ApiHealth:
        return self.lookups.health

    @property
    def single_flight(self) -> bool:
        return self.lookups.single_flight

    @single_flight.setter
    def single_flight(self, on: bool) -> None:
        self.lookups.single_flight = on

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        resolver: Resolver,
        *,
        provider: CalorieProvider | None = None,
        limiter: RateLimiter | None = None,
    ) -> CalorieClient:
        """Everything from settings; the limiter defaults to the API's (cluster-wide in Ray),
        none for a provider that answers in-process; the cache holds the whole key space
        unless ``calorie_cache_size`` says otherwise."""
        s, step = settings, settings.calorie_weight_step_lb
        activities = getattr(resolver, "activity_count", _TABLE_ACTIVITIES)
        size = s.calorie_cache_size
        provider = provider or HttpCalorieProvider.from_settings(s)
        if limiter is None and not getattr(provider, "in_process", False):
            limiter = rate_limiter_for(s)  # an in-process table has no quota to respect
        return cls(
            provider,
            resolver,
            limiter,
            concurrency=s.calorie_concurrency,
            timeout_s=s.calorie_timeout_s,
            backoff=Backoff(
                s.calorie_backoff_base_s, s.calorie_backoff_cap_s, s.calorie_max_wait_s
            ),
            breaker=CircuitBreaker(s.calorie_breaker_threshold, s.calorie_breaker_cooldown_s),
            cache=QuoteCache(
                key_space(activities, step) if size is None else size, ttl_s=s.calorie_cache_ttl_s
            ),
            weight_step_lb=step,
        )

    async def __aenter__(self) -> CalorieClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.lookups.close()
        await self.provider.aclose()

    def waiting(self) -> str | None:
        """What the client waits for, for a person (None while the API answers)."""
        return self.lookups.waiting()

    async def enrich(self, workout: RawWorkout) -> EnrichedWorkout:
        """One workout; raises the typed error (transient or terminal) after retries."""
        try:
            job = self._prepare(workout)
            if job.outcome is None:
                flight = self.lookups.want(job.key, job.resolution.activity)
                await asyncio.wait([flight])  # never cancels the flight, unlike a bare await
                job.outcome = outcome_of(flight)
            if isinstance(job.outcome, Failure):
                raise job.outcome.error
            return self._enriched(job, job.outcome)
        finally:
            self._record.flush()

    async def enrich_batch(
        self, workouts: Iterable[RawWorkout | Mapping[str, Any]]
    ) -> EnrichmentResult:
        """Every workout, one provider call per missing key; bad input becomes dead letters,
        in input order. An outage past the wait or a misconfigured API raises."""
        try:
            jobs = [self._prepare_or_dead_letter(w) for w in workouts]
            await self._answer([job for job in jobs if isinstance(job, _Job)])
            return self._result(jobs)
        finally:
            self._record.flush()

    # -- one batch -------------------------------------------------------------------------
    def _prepare(self, workout: RawWorkout | Mapping[str, Any]) -> _Job:
        raw = workout if isinstance(workout, RawWorkout) else parse_raw(dict(workout))
        resolution = self.resolver.resolve(raw.title)
        key = self.cache.key(resolution.activity, sent_weight(raw.weight_lb, self.weight_step_lb))
        job = _Job(raw, resolution, key)
        cached = self.cache.lookup(key)
        self._record.cache(hit=cached is not None)
        if cached is not None:
            job.outcome = Answer(cached[0], cached[1], 0)
        elif self._answer_now is not None:
            job.outcome = self._ask_now(self._answer_now, job)
        return job

    def _ask_now(self, answer_now: Callable[[str, float], float], job: _Job) -> Outcome:
        """One in-process lookup, counted as a call; an unknown activity is this key's failure
        (dead-lettered), as the flight would make it."""
        started = time.perf_counter()
        try:
            kcal_per_hour = answer_now(job.resolution.activity, job.key[1])
        except FitrayError as exc:
            return Failure(exc, 1)
        finally:
            self._record.call(time.perf_counter() - started, export=False)
        answer = Answer(kcal_per_hour, datetime.now(UTC), 1)
        self.cache.store(job.key, kcal_per_hour, answer.fetched_at)
        return answer

    def _prepare_or_dead_letter(self, workout: RawWorkout | Mapping[str, Any]) -> _Job | DeadLetter:
        try:
            return self._prepare(workout)
        except FitrayError as exc:
            return self._dead_letter(workout, exc, 0)
        except Exception as exc:  # a bug must not sink the other workouts of the batch
            log.exception("unexpected error enriching %s", event_id_of(workout))
            return self._dead_letter(workout, exc, 0)

    async def _answer(self, jobs: list[_Job]) -> None:
        """Start (or join) one flight per missing key; give each job its flight's outcome."""
        waiting: dict[asyncio.Future[Outcome], list[_Job]] = {}
        joined = self.lookups.flights.joined
        for job in jobs:
            if job.outcome is None:
                flight = self.lookups.want(job.key, job.resolution.activity)
                waiting.setdefault(flight, []).append(job)
        self._record.coalesced(self.lookups.flights.joined - joined)
        pending = set(waiting)
        while pending:  # asyncio.wait never cancels the flights, whoever else awaits them
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for flight in done:
                outcome = outcome_of(flight)
                for job in waiting[flight]:
                    job.outcome = outcome

    def _result(self, jobs: list[_Job | DeadLetter]) -> EnrichmentResult:
        result = EnrichmentResult()
        for job in jobs:
            if isinstance(job, DeadLetter):
                result.dead_letters.append(job)
            elif isinstance(job.outcome, Answer):
                result.enriched.append(self._enriched(job, job.outcome))
            else:
                failure = job.outcome or Failure(RuntimeError("lookup ended unanswered"), 0)
                result.dead_letters.append(self._dead_letter(job.raw, failure.error, failure.calls))
        return result

    def _enriched(self, job: _Job, answer: Answer) -> EnrichedWorkout:
        raw, resolution = job.raw, job.resolution
        self._record.enriched()
        return EnrichedWorkout(
            event_id=raw.event_id,
            title=raw.title,
            weight_lb=raw.weight_lb,
            duration_min=raw.duration_min,
            event_time=raw.event_time,
            activity=resolution.activity,
            resolution=resolution.method,
            kcal_per_hour=answer.kcal_per_hour,
            total_kcal=answer.kcal_per_hour * raw.duration_min / 60,
            provider=self.provider.name,
            fetched_at=answer.fetched_at,
            attempts=answer.calls,
            fallback_used=resolution.method == "fallback",
        )

    def _dead_letter(self, workout: Any, exc: BaseException, calls: int) -> DeadLetter:
        code, reason = dead_letter_code(exc), str(exc) or type(exc).__name__
        if isinstance(exc, TransientError):
            waited = self.lookups.backoff.max_wait_s
            reason = (
                f"{reason}; kept failing for this workout for {waited:g} s "
                f"({calls} calls) while the API answered others"
            )
        self._record.dead_letter(code)
        log.warning("dead letter %s [%s]: %s", event_id_of(workout), code, reason)
        return DeadLetter(workout, reason, calls, code)
