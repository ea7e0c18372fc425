"""The calorie client: workouts in, enriched workouts and dead letters out.

Per workout: resolve the title to an activity, look up kcal/hour in the cache, else ask the
provider -- inside a concurrency bound, after a rate-limit token, through the circuit
breaker, under a per-request deadline, retried with backoff on transient failures -- and
derive the total. A failure of one workout becomes a :class:`DeadLetter` with its reason;
it never fails the batch. Counters live in :class:`ClientStats` and, inside Ray, in Ray
metrics as well.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache
from fitray.calories.exceptions import CalorieUnavailable
from fitray.calories.provider import CalorieProvider, HttpCalorieProvider
from fitray.calories.ratelimit import RateLimiter, rate_limiter_for
from fitray.calories.resolve import UnresolvedActivity
from fitray.calories.retry import Backoff
from fitray.calories.stats import ClientStats, StatsRecorder
from fitray.config import Settings
from fitray.dead_letters import DeadLetterCode
from fitray.exceptions import FitrayError, TerminalError, TransientError
from fitray.schema import EnrichedWorkout, InvalidRecord, RawWorkout, ResolutionMethod, parse_raw

__all__ = [
    "CalorieClient",
    "ClientStats",
    "DeadLetter",
    "EnrichmentResult",
    "Resolver",
    "dead_letter_code",
]

log = logging.getLogger(__name__)


class _Resolution(Protocol):
    @property
    def activity(self) -> str: ...
    @property
    def method(self) -> ResolutionMethod: ...


class Resolver(Protocol):
    """What the client needs of :class:`fitray.calories.resolve.ActivityResolver`."""

    def resolve(self, title: str) -> _Resolution: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    workout: RawWorkout | Mapping[str, Any]  # as given: a raw dict may not even validate
    reason: str  # one line for humans; never holds the API key
    attempts: int  # provider calls made for this workout
    code: DeadLetterCode = DeadLetterCode.INTERNAL


@dataclass
class EnrichmentResult:
    enriched: list[EnrichedWorkout] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


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
        self._record = StatsRecorder(self.stats, provider.name)
        self._slots = asyncio.Semaphore(concurrency)

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
                settings.calorie_max_attempts,
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

    async def enrich(self, workout: RawWorkout) -> EnrichedWorkout:
        """One workout; raises the typed error (transient or terminal) after retries."""
        return await self._enrich(workout, _Tally())

    async def enrich_batch(
        self, workouts: Iterable[RawWorkout | Mapping[str, Any]]
    ) -> EnrichmentResult:
        """Every workout concurrently (bounded); failures become dead letters, in input order."""
        outcomes = await asyncio.gather(*(self._enrich_or_dead_letter(w) for w in workouts))
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
        except FitrayError as exc:
            return self._dead_letter(workout, exc, tally.calls)
        except Exception as exc:  # a bug must not sink the other workouts of the batch
            log.exception("unexpected error enriching %s", _event_id(workout))
            return self._dead_letter(workout, exc, tally.calls)

    def _dead_letter(self, workout: Any, exc: Exception, calls: int) -> DeadLetter:
        code = dead_letter_code(exc)
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TransientError):
            reason = f"{reason}; gave up after {calls} call(s)"
        self._record.dead_letter(code)
        log.warning("dead letter %s [%s]: %s", _event_id(workout), code, reason)
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
        tries = 0
        while True:
            tries += 1
            try:
                return await self._attempt(activity, workout, tally)
            except TransientError as exc:
                if self.backoff.gives_up(tries, exc.retry_after_s):
                    raise
                self._record.retry()
                await asyncio.sleep(self.backoff.delay(tries, exc.retry_after_s))

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
            self._failed("timeout", transient=True)
            raise CalorieUnavailable(
                f"calorie API gave no answer within {self.timeout_s:g}s", code="timeout"
            ) from None
        except FitrayError as exc:
            self._failed(_code_of(exc), transient=isinstance(exc, TransientError))
            raise
        except BaseException:
            self.breaker.record_neutral()  # cancelled: says nothing about the provider
            raise
        self.breaker.record_success()
        return quote.kcal_per_hour

    def _failed(self, code: str, *, transient: bool) -> None:
        self._record.failure(code)
        if not transient:
            self.breaker.record_success()  # a terminal answer proves the provider is up
        elif code == "rate_limited":
            self.breaker.record_neutral()  # backpressure, not ill health
        else:
            self.breaker.record_failure()


def dead_letter_code(exc: BaseException) -> DeadLetterCode:
    """Why a workout that failed with ``exc`` is dead-lettered, for an operator."""
    if isinstance(exc, TransientError):
        return DeadLetterCode.API_UNAVAILABLE
    if not isinstance(exc, TerminalError):
        return DeadLetterCode.INTERNAL
    if isinstance(exc, InvalidRecord):
        return DeadLetterCode.INVALID_RECORD
    if isinstance(exc, UnresolvedActivity):
        return DeadLetterCode.UNRESOLVED_ACTIVITY
    return _REJECTIONS.get(getattr(exc, "code", ""), DeadLetterCode.INTERNAL)


_REJECTIONS = {
    "unknown_activity": DeadLetterCode.UNKNOWN_ACTIVITY,
    "bad_request": DeadLetterCode.REJECTED_BY_API,
    "unauthorized": DeadLetterCode.API_MISCONFIGURED,
    "not_found": DeadLetterCode.API_MISCONFIGURED,
}


def _code_of(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    if isinstance(exc, TerminalError):
        return _snake(type(exc).__name__)  # InvalidRecord -> invalid_record
    return "transient" if isinstance(exc, TransientError) else "internal"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _event_id(workout: Any) -> str:
    if isinstance(workout, Mapping):
        return f"event_id={workout.get('event_id')!r}"
    return f"event_id={getattr(workout, 'event_id', None)!r}"
