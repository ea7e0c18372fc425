"""Answering calorie lookup keys: one flight per key, each a loop of provider calls.

A key is what a request sends: (activity, weight). :class:`KeyLookups` gives every lookup of a
key the future of that key's flight (:mod:`fitray.calories.flight`); a flight's attempt takes
the breaker's leave, a token of the API's rate limit, and one provider call under the deadline,
and feeds the outcome to the breaker, the health tracker and the counters. Transient failures
are retried with backoff inside the flight. An API that answers nobody for ``max_wait_s`` fails
the flight with :class:`CalorieOutage` (every waiter's batch stops: nothing is dead-lettered);
a key that keeps failing while the API answers others lands as a :class:`Failure`, and so does
a terminal rejection: its waiters are dead-lettered with its reason.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import CacheKey, QuoteCache
from fitray.calories.exceptions import CalorieMisconfigured, CalorieOutage, CalorieUnavailable
from fitray.calories.flight import Flight, SingleFlight
from fitray.calories.health import ApiHealth
from fitray.calories.outcomes import MISCONFIGURED, call_failure_code
from fitray.calories.provider import CalorieProvider
from fitray.calories.ratelimit import RateLimiter
from fitray.calories.retry import Backoff
from fitray.calories.stats import StatsRecorder
from fitray.exceptions import FitrayError, TransientError

__all__ = ["QUOTE_DURATION_MIN", "STOPPING", "Answer", "Failure", "KeyLookups", "Outcome",
           "outcome_of"]  # fmt: skip

QUOTE_DURATION_MIN = 60.0  # every request asks for one hour: the answer is kcal/hour itself
STOPPING = (CalorieOutage, CalorieMisconfigured)  # not a workout's fault: its batch stops


@dataclass(slots=True)
class Answer:
    kcal_per_hour: float
    fetched_at: datetime
    calls: int  # provider calls the flight made (0: from the cache)


@dataclass(slots=True)
class Failure:
    """How a flight ended when its key is at fault (terminal, or failing while the API
    answered others): every workout that waited for it is dead-lettered with this."""

    error: Exception
    calls: int


Outcome = Answer | Failure


def outcome_of(flight: asyncio.Future[Outcome]) -> Outcome:
    """A finished flight's outcome; an outage or a misconfiguration is raised (the batch
    stops), a bug in the flight becomes a failure (its workouts are dead-lettered)."""
    if flight.cancelled():
        raise asyncio.CancelledError("the calorie client closed during the lookup")
    error = flight.exception()
    if isinstance(error, STOPPING):
        raise error
    if error is not None:
        return Failure(error if isinstance(error, Exception) else RuntimeError(error), 0)
    return flight.result()


class KeyLookups:
    """The flights of one client; ``single_flight=False`` gives every lookup a flight of its
    own (the design before single flight, kept only to measure what coalescing saves)."""

    def __init__(
        self,
        provider: CalorieProvider,
        limiter: RateLimiter | None,
        cache: QuoteCache,
        record: StatsRecorder,
        *,
        concurrency: int,
        timeout_s: float,
        backoff: Backoff,
        breaker: CircuitBreaker,
        single_flight: bool = True,
    ) -> None:
        self.provider, self.limiter, self.cache, self._record = provider, limiter, cache, record
        self.timeout_s, self.backoff, self.breaker = timeout_s, backoff, breaker
        self.single_flight = single_flight
        self.health = ApiHealth(provider.where)
        self.flights: SingleFlight[Any, Outcome] = SingleFlight(self._fly, workers=concurrency)
        self._own_deadline = bool(getattr(provider, "enforces_timeout", False))
        self._breaker_shown: str | None = None  # the state the breaker gauge shows
        self._solo = 0  # flight keys of their own when single_flight is off

    def want(self, key: CacheKey, activity: str) -> asyncio.Future[Outcome]:
        """The future of ``key``'s flight (joined if under way); ``activity`` as asked."""
        flight_key: Any = key
        if not self.single_flight:
            self._solo += 1
            flight_key = (key, self._solo)
        return self.flights.want(flight_key, (key, activity))

    def waiting(self) -> str | None:
        """What the lookups wait for, for a person (None while the API answers)."""
        return self.health.describe(self.backoff.max_wait_s, self.breaker.state)

    def close(self) -> None:
        self.flights.close()

    async def _fly(self, flight: Flight[Any, Outcome]) -> None:
        """One attempt of a key's flight: land it (an answer, cached; or this key's failure),
        fail it (an outage, a misconfiguration: every waiter stops), or retry it later."""
        key, activity = flight.args
        try:
            kcal_per_hour = await self._attempt(activity, key[1], flight)
        except STOPPING as exc:
            flight.fail(exc)
        except TransientError as exc:
            self._retry_or_give_up(flight, exc)
        except FitrayError as exc:  # terminal: this key's fault, its waiters are dead-lettered
            flight.land(Failure(exc, flight.calls))
        else:
            answer = Answer(kcal_per_hour, datetime.now(UTC), flight.calls)
            self.cache.store(key, kcal_per_hour, answer.fetched_at)
            flight.land(answer)

    def _retry_or_give_up(self, flight: Flight[Any, Outcome], exc: TransientError) -> None:
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
            flight.land(Failure(exc, flight.calls))
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
