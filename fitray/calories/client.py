"""The calorie client: workouts in, enriched workouts and dead letters out.

Per workout: resolve the title to an activity, look up kcal/hour in the cache, else ask the
provider -- inside a concurrency bound, after a rate-limit token, through the circuit
breaker, under a per-request deadline, retried with backoff on transient failures -- and
derive the total. Bad input (an unresolvable title, an activity the API does not know,
parameters it rejects) becomes a :class:`DeadLetter` with its reason; it never fails the
batch. A dependency failure is not bad input: while the API answers nobody, every workout
waits (the breaker's cool-downs, backoff); past ``max_wait_s`` the batch raises
:class:`CalorieOutage`, and a refused key or URL raises :class:`CalorieMisconfigured` at once.
Only a workout that keeps failing while the API answers others is dead-lettered after the
wait (``api_unavailable``, replayable). Counters live in :class:`ClientStats` and, inside Ray,
in Ray metrics as well.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache
from fitray.calories.exceptions import (
    CalorieMisconfigured,
    CalorieOutage,
    CalorieUnavailable,
)
from fitray.calories.health import ApiHealth
from fitray.calories.outcomes import (
    MISCONFIGURED,
    DeadLetter,
    EnrichmentResult,
    call_failure_code,
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

__all__ = ["CalorieClient", "ClientStats", "Resolver"]

log = logging.getLogger(__name__)


class _Resolution(Protocol):
    @property
    def activity(self) -> str: ...
    @property
    def method(self) -> ResolutionMethod: ...


class Resolver(Protocol):
    """What the client needs of :class:`fitray.calories.resolve.ActivityResolver`."""

    def resolve(self, title: str) -> _Resolution: ...


@dataclass
class _Tally:
    calls: int = 0


class CalorieClient:
    """Build with :meth:`from_settings`; ``async with`` closes the provider's connections."""

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
    ) -> None:
        self.provider = provider
        self.resolver = resolver
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self.cache = cache if cache is not None else QuoteCache()
        self.stats = ClientStats()
        self.health = ApiHealth(provider.where)
        self._record = StatsRecorder(self.stats, provider.name)
        self._slots = asyncio.Semaphore(concurrency)
        self._breaker_shown: str | None = None  # the state the breaker gauge shows

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        resolver: Resolver,
        *,
        provider: CalorieProvider | None = None,
        limiter: RateLimiter | None = None,
    ) -> CalorieClient:
        """Everything from settings; the limiter defaults to the API's (cluster-wide in Ray)."""
        return cls(
            provider or HttpCalorieProvider.from_settings(settings),
            resolver,
            limiter or rate_limiter_for(settings),
            concurrency=settings.calorie_concurrency,
            timeout_s=settings.calorie_timeout_s,
            backoff=Backoff(
                settings.calorie_backoff_base_s,
                settings.calorie_backoff_cap_s,
                settings.calorie_max_wait_s,
            ),
            breaker=CircuitBreaker(
                settings.calorie_breaker_threshold, settings.calorie_breaker_cooldown_s
            ),
            cache=QuoteCache(settings.calorie_cache_size),
        )

    async def __aenter__(self) -> CalorieClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.provider.aclose()

    def waiting(self) -> str | None:
        """What the client waits for, for a person (None while the API answers)."""
        return self.health.describe(self.backoff.max_wait_s, self.breaker.state)

    async def enrich(self, workout: RawWorkout) -> EnrichedWorkout:
        """One workout; raises the typed error (transient or terminal) after retries."""
        return await self._enrich(workout, _Tally())

    async def enrich_batch(
        self, workouts: Iterable[RawWorkout | Mapping[str, Any]]
    ) -> EnrichmentResult:
        """Every workout concurrently (bounded); bad input becomes dead letters, in input
        order. An outage past the wait or a misconfigured API raises, cancelling the rest."""
        tasks = [asyncio.ensure_future(self._enrich_or_dead_letter(w)) for w in workouts]
        try:
            outcomes = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        result = EnrichmentResult()
        for outcome in outcomes:
            if isinstance(outcome, DeadLetter):
                result.dead_letters.append(outcome)
            else:
                result.enriched.append(outcome)
        return result

    async def _enrich_or_dead_letter(
        self, workout: RawWorkout | Mapping[str, Any]
    ) -> EnrichedWorkout | DeadLetter:
        tally = _Tally()
        try:
            raw = workout if isinstance(workout, RawWorkout) else parse_raw(dict(workout))
            return await self._enrich(raw, tally)
        except (CalorieOutage, CalorieMisconfigured):
            raise  # not this workout's fault: the whole batch stops
        except FitrayError as exc:
            return self._dead_letter(workout, exc, tally.calls)
        except Exception as exc:  # a bug must not sink the other workouts of the batch
            log.exception("unexpected error enriching %s", event_id_of(workout))
            return self._dead_letter(workout, exc, tally.calls)

    def _dead_letter(self, workout: Any, exc: Exception, calls: int) -> DeadLetter:
        code = dead_letter_code(exc)
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TransientError):
            reason = (
                f"{reason}; kept failing for this workout for {self.backoff.max_wait_s:g} s "
                f"({calls} calls) while the API answered others"
            )
        self._record.dead_letter(code)
        log.warning("dead letter %s [%s]: %s", event_id_of(workout), code, reason)
        return DeadLetter(workout, reason, calls, code)

    async def _enrich(self, workout: RawWorkout, tally: _Tally) -> EnrichedWorkout:
        resolution = self.resolver.resolve(workout.title)
        kcal_per_hour = await self._kcal_per_hour(resolution.activity, workout, tally)
        self._record.enriched()
        return EnrichedWorkout(
            **workout.model_dump(),
            activity=resolution.activity,
            resolution=resolution.method,
            kcal_per_hour=kcal_per_hour,
            total_kcal=kcal_per_hour * workout.duration_min / 60,
            provider=self.provider.name,
            fetched_at=datetime.now(UTC),
            attempts=tally.calls,
            fallback_used=resolution.method == "fallback",
        )

    async def _kcal_per_hour(self, activity: str, workout: RawWorkout, tally: _Tally) -> float:
        cached = self.cache.get(activity, workout.weight_lb)
        self._record.cache(hit=cached is not None)
        if cached is not None:
            return cached
        kcal_per_hour = await self._fetch(activity, workout, tally)
        self.cache.put(activity, workout.weight_lb, kcal_per_hour)
        return kcal_per_hour

    async def _fetch(self, activity: str, workout: RawWorkout, tally: _Tally) -> float:
        """Try until it works; an outage of the whole API past the wait raises CalorieOutage,
        and only a workout failing while the API answers others gives up (dead letter)."""
        tries, first_failure, max_wait_s = 0, None, self.backoff.max_wait_s
        while True:
            tries += 1
            try:
                return await self._attempt(activity, workout, tally)
            except TransientError as exc:
                first_failure = first_failure or self.health.now()
                if self.health.down_for() >= max_wait_s:
                    raise self._outage(exc) from exc
                waited = self.health.now() - first_failure
                if waited >= max_wait_s and self.health.answered_since(first_failure):
                    raise
                self._record.retry()
                await asyncio.sleep(min(self.backoff.delay(tries, exc.retry_after_s), max_wait_s))

    def _outage(self, exc: TransientError) -> CalorieOutage:
        waited, bound = self.health.down_for(), self.backoff.max_wait_s
        return CalorieOutage(
            f"the calorie API at {self.provider.where} answered nobody for {waited:.0f} s "
            f"(FITRAY_CALORIE_MAX_WAIT_S={bound:g}; last: {exc}); nothing was dead-lettered: "
            "re-run the same command once it is back"
        )

    async def _attempt(self, activity: str, workout: RawWorkout, tally: _Tally) -> float:
        self.breaker.check()  # refuse fast while open, before queueing for a slot or a token
        async with self._slots:
            if self.limiter is not None:
                await self.limiter.acquire()
            self.breaker.allow()
            tally.calls += 1
            started = time.perf_counter()
            try:
                return await self._call(activity, workout)
            finally:
                self._record.call(time.perf_counter() - started)

    async def _call(self, activity: str, workout: RawWorkout) -> float:
        """One provider call under the deadline, its outcome fed to the breaker and counters."""
        try:
            async with asyncio.timeout(self.timeout_s):
                quote = await self.provider.lookup(
                    activity, workout.weight_lb, workout.duration_min
                )
        except TimeoutError:
            error = CalorieUnavailable(
                f"calorie API gave no answer within {self.timeout_s:g}s", code="timeout"
            )
            self._failed("timeout", error)
            raise error from None
        except FitrayError as exc:
            self._failed(call_failure_code(exc), exc)
            if call_failure_code(exc) in MISCONFIGURED:
                raise CalorieMisconfigured(str(exc)) from None
            raise
        except BaseException:
            self.breaker.record_neutral()  # cancelled: says nothing about the provider
            raise
        self.breaker.record_success()
        self.health.succeeded()
        self._show_breaker()
        return quote.kcal_per_hour

    def _failed(self, code: str, exc: Exception) -> None:
        self._record.failure(code)
        if not isinstance(exc, TransientError):
            self.breaker.record_success()  # a terminal answer proves the provider is up
            self.health.succeeded()
        elif code == "rate_limited":
            self.breaker.record_neutral()  # backpressure, not ill health
        else:
            self.breaker.record_failure()
            self.health.failed(str(exc))
        self._show_breaker()

    def _show_breaker(self) -> None:
        """Export the breaker's state when it changes (a gauge, for dashboards and alerts)."""
        if (state := self.breaker.state) != self._breaker_shown:
            self._breaker_shown = state
            self._record.breaker(state)
