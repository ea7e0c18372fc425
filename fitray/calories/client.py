"""The calorie client: workouts in, enriched workouts and dead letters out.

Per batch: resolve every title to an activity and look its key up in the cache -- the key is
what the request would send (:mod:`fitray.calories.cache`: the activity and the weight rounded
to ``weight_step_lb``); then ask the provider once per key still missing (single flight,
:mod:`fitray.calories.flight`: concurrent lookups of one key, in this batch or another, share
one call) -- inside a concurrency bound, after a rate-limit token, through the circuit breaker,
under a per-request deadline, retried with backoff on transient failures -- and derive each
workout's total. Bad input (an unresolvable title, an activity the API does not know,
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache, key_space, sent_weight
from fitray.calories.exceptions import CalorieMisconfigured, CalorieOutage, CalorieUnavailable
from fitray.calories.flight import Flight, SingleFlight
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

__all__ = ["QUOTE_DURATION_MIN", "CalorieClient", "ClientStats", "Resolver"]

log = logging.getLogger(__name__)
QUOTE_DURATION_MIN = 60.0  # every request asks for one hour: the answer is kcal/hour itself
_STOPPING = (CalorieOutage, CalorieMisconfigured)  # not a workout's fault: the batch stops
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
class _Answer:
    kcal_per_hour: float
    fetched_at: datetime
    calls: int  # provider calls the flight made (0: from the cache)


@dataclass(slots=True)
class _Failure:
    """How a flight ended when its key is at fault (terminal, or failing while the API
    answered others): every workout that waited for it is dead-lettered with this."""

    error: Exception
    calls: int


_Outcome = _Answer | _Failure


@dataclass(slots=True)
class _Job:
    """One workout of a batch on its way: resolved, keyed, then answered or failed."""

    raw: RawWorkout
    resolution: _Resolution
    key: tuple[str, float]
    outcome: _Outcome | None = None


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
        self.provider, self.resolver, self.limiter = provider, resolver, limiter
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self.cache = cache if cache is not None else QuoteCache()
        self.weight_step_lb, self.single_flight = weight_step_lb, single_flight
        self.stats = ClientStats()
        self.health = ApiHealth(provider.where)
        self.flights: SingleFlight[Any, _Outcome] = SingleFlight(
            self._fly, workers=concurrency
        )  # its workers bound the calls in flight
        self._record = StatsRecorder(self.stats, provider.name)
        self._own_deadline = bool(getattr(provider, "enforces_timeout", False))
        self._breaker_shown: str | None = None  # the state the breaker gauge shows
        self._solo = 0  # flight keys of their own when single_flight is off

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
        self.flights.close()
        await self.provider.aclose()

    def waiting(self) -> str | None:
        """What the client waits for, for a person (None while the API answers)."""
        return self.health.describe(self.backoff.max_wait_s, self.breaker.state)

    async def enrich(self, workout: RawWorkout) -> EnrichedWorkout:
        """One workout; raises the typed error (transient or terminal) after retries."""
        try:
            job = self._prepare(workout)
            if job.outcome is None:
                flight = self._want(job)
                await asyncio.wait([flight])  # never cancels the flight, unlike a bare await
                job.outcome = self._landed(flight)
            if isinstance(job.outcome, _Failure):
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
            job.outcome = _Answer(cached[0], cached[1], 0)
        return job

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
        waiting: dict[asyncio.Future[_Outcome], list[_Job]] = {}
        joined = self.flights.joined
        for job in jobs:
            if job.outcome is None:
                waiting.setdefault(self._want(job), []).append(job)
        self._record.coalesced(self.flights.joined - joined)
        pending = set(waiting)
        while pending:  # asyncio.wait never cancels the flights, whoever else awaits them
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for flight in done:
                outcome = self._landed(flight)
                for job in waiting[flight]:
                    job.outcome = outcome

    def _landed(self, flight: asyncio.Future[_Outcome]) -> _Outcome:
        """A finished flight's outcome; an outage or a misconfiguration stops the batch."""
        if flight.cancelled():
            raise asyncio.CancelledError("the calorie client closed during the lookup")
        error = flight.exception()
        if isinstance(error, _STOPPING):
            raise error
        if error is not None:  # a bug in the flight: its workouts become dead letters
            return _Failure(error if isinstance(error, Exception) else RuntimeError(error), 0)
        return flight.result()

    def _result(self, jobs: list[_Job | DeadLetter]) -> EnrichmentResult:
        result = EnrichmentResult()
        for job in jobs:
            if isinstance(job, DeadLetter):
                result.dead_letters.append(job)
            elif isinstance(job.outcome, _Answer):
                result.enriched.append(self._enriched(job, job.outcome))
            else:
                failure = job.outcome or _Failure(RuntimeError("lookup ended unanswered"), 0)
                result.dead_letters.append(self._dead_letter(job.raw, failure.error, failure.calls))
        return result

    def _enriched(self, job: _Job, answer: _Answer) -> EnrichedWorkout:
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

    # -- one key ---------------------------------------------------------------------------
    def _want(self, job: _Job) -> asyncio.Future[_Outcome]:
        key: Any = job.key
        if not self.single_flight:
            self._solo += 1
            key = (job.key, self._solo)
        return self.flights.want(key, (job.key, job.resolution.activity))

    async def _fly(self, flight: Flight[Any, _Outcome]) -> None:
        """One attempt of a key's flight: land it (an answer, cached; or this key's failure),
        fail it (an outage, a misconfiguration: every waiter stops), or retry it later."""
        key, activity = flight.args
        try:
            kcal_per_hour = await self._attempt(activity, key[1], flight)
        except _STOPPING as exc:
            flight.fail(exc)
        except TransientError as exc:
            self._retry_or_give_up(flight, exc)
        except FitrayError as exc:  # terminal: this key's fault, its waiters are dead-lettered
            flight.land(_Failure(exc, flight.calls))
        else:
            answer = _Answer(kcal_per_hour, datetime.now(UTC), flight.calls)
            self.cache.store(key, kcal_per_hour, answer.fetched_at)
            flight.land(answer)

    def _retry_or_give_up(self, flight: Flight[Any, _Outcome], exc: TransientError) -> None:
        """Wait and try again; an outage of the whole API past the wait fails the flight with
        CalorieOutage, and only a key failing while the API answers others gives up."""
        now, max_wait_s = self.health.now(), self.backoff.max_wait_s
        if flight.first_failure is None:
            flight.first_failure = now
        if self.health.down_for() >= max_wait_s:
            flight.fail(self._outage(exc))
        elif now - flight.first_failure >= max_wait_s and self.health.answered_since(
            flight.first_failure
        ):
            flight.land(_Failure(exc, flight.calls))
        else:
            self._record.retry()
            delay_s = self.backoff.delay(flight.tries, exc.retry_after_s)
            self.flights.retry_later(flight, min(delay_s, max_wait_s))

    def _outage(self, exc: TransientError) -> CalorieOutage:
        waited, bound = self.health.down_for(), self.backoff.max_wait_s
        return CalorieOutage(
            f"the calorie API at {self.provider.where} answered nobody for {waited:.0f} s "
            f"(FITRAY_CALORIE_MAX_WAIT_S={bound:g}; last: {exc}); nothing was dead-lettered: "
            "re-run the same command once it is back"
        )

    async def _attempt(self, activity: str, weight_lb: float, flight: Flight[Any, Any]) -> float:
        """One provider call: breaker, a rate-limit token, the deadline; its outcome fed to
        the breaker, the health tracker and the counters. The caller is one of the flights'
        workers, which bound the calls in flight."""
        self.breaker.check()  # refuse fast while open, before waiting for a token
        if self.limiter is not None:
            await self.limiter.acquire()
        self.breaker.allow()
        flight.calls += 1
        started = time.perf_counter()
        try:
            if self._own_deadline:  # the provider enforces timeout_s (aiohttp's total)
                quote = await self.provider.lookup(activity, weight_lb, QUOTE_DURATION_MIN)
            else:
                async with asyncio.timeout(self.timeout_s):
                    quote = await self.provider.lookup(activity, weight_lb, QUOTE_DURATION_MIN)
        except TimeoutError:
            raise self._timed_out() from None
        except FitrayError as exc:
            self._failed(call_failure_code(exc), exc)
            if call_failure_code(exc) in MISCONFIGURED:
                raise CalorieMisconfigured(str(exc)) from None
            raise
        except BaseException:
            self.breaker.record_neutral()  # cancelled: says nothing about the provider
            raise
        finally:
            self._record.call(time.perf_counter() - started)
        self.breaker.record_success()
        self.health.succeeded()
        self._show_breaker()
        return quote.kcal_per_hour

    def _timed_out(self) -> CalorieUnavailable:
        error = CalorieUnavailable(
            f"calorie API gave no answer within {self.timeout_s:g}s", code="timeout"
        )
        self._failed("timeout", error)
        return error

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
