"""Single flight: concurrent lookups of one key make one call, and whatever that call ends
with -- an answer, a rejection, failures retried, an outage -- reaches every waiter once.
Pure units: the providers here are in-process doubles that count their calls."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache
from fitray.calories.client import CalorieClient
from fitray.calories.exceptions import CalorieOutage, CalorieRejected, CalorieUnavailable
from fitray.calories.flight import SingleFlight
from fitray.calories.provider import CalorieQuote
from fitray.calories.retry import Backoff
from fitray.schema import RawWorkout, ResolutionMethod

FAST = Backoff(0.001, 0.01, max_wait_s=5.0)


@dataclass(frozen=True)
class Resolution:
    activity: str
    method: ResolutionMethod = "exact"


class Titles:
    """Each title is its own activity."""

    def resolve(self, title: str) -> Resolution:
        return Resolution(title)


def kcal(activity: str, weight_lb: float) -> float:
    return len(activity) * 10 + weight_lb


class CountingProvider:
    """Answers ``kcal(activity, weight)`` after ``delay_s``; fails as told; counts calls."""

    name, where = "double", "the test double"

    def __init__(self, delay_s: float = 0.01, failures: int = 0, reject: str = "") -> None:
        self.delay_s, self.failures, self.reject = delay_s, failures, reject
        self.calls: list[tuple[str, float]] = []

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        self.calls.append((activity, weight_lb))
        await asyncio.sleep(self.delay_s)
        if activity == self.reject:
            raise CalorieRejected(f"unknown activity {activity!r}", code="unknown_activity")
        if len(self.calls) <= self.failures:
            raise CalorieUnavailable("server error (503)", code="server_error")
        value = kcal(activity, weight_lb)
        return CalorieQuote(activity, value, value * duration_min / 60, self.name)

    async def aclose(self) -> None:
        pass


def client(provider: CountingProvider, **options: Any) -> CalorieClient:
    options.setdefault("backoff", FAST)
    options.setdefault("breaker", CircuitBreaker(1000, 60.0))
    return CalorieClient(provider, Titles(), **options)


def workout(
    title: str = "Rowing", weight_lb: float = 150.0, duration_min: float = 30.0
) -> RawWorkout:
    return RawWorkout(
        event_id=uuid.uuid4().hex, title=title, weight_lb=weight_lb,
        duration_min=duration_min, event_time=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip


async def test_n_identical_lookups_in_one_batch_make_one_call() -> None:
    provider = CountingProvider()
    c = client(provider, cache=QuoteCache(0))
    result = await c.enrich_batch([workout(duration_min=d) for d in range(1, 51)])
    assert provider.calls == [("Rowing", 150.0)]
    assert len(result.enriched) == 50 and not result.dead_letters
    assert {e.kcal_per_hour for e in result.enriched} == {kcal("Rowing", 150.0)}
    assert [e.total_kcal for e in result.enriched[:2]] == [
        kcal("Rowing", 150) / 60,
        kcal("Rowing", 150) / 30,
    ]
    assert (c.stats.calls, c.stats.cache_misses, c.stats.coalesced) == (1, 50, 49)


async def test_identical_lookups_of_concurrent_batches_and_single_workouts_share_a_call() -> None:
    provider = CountingProvider(delay_s=0.05)
    c = client(provider, cache=QuoteCache(0))
    batches = [c.enrich_batch([workout(), workout(weight_lb=150.4)]) for _ in range(5)]
    singles = [c.enrich(workout(weight_lb=149.6)) for _ in range(5)]  # all round to 150 lb
    results = await asyncio.gather(*batches, *singles)
    assert provider.calls == [("Rowing", 150.0)]
    assert all(len(r.enriched) == 2 for r in results[:5])
    assert {r.kcal_per_hour for r in results[5:]} == {kcal("Rowing", 150.0)}


async def test_a_rejection_reaches_every_waiter_each_dead_lettered_once() -> None:
    provider = CountingProvider(reject="Underwater basket weaving")
    c = client(provider)
    bad = [workout("Underwater basket weaving") for _ in range(20)]
    result = await c.enrich_batch([*bad, workout()])
    assert len(provider.calls) == 2  # the bad key once, the good one once
    assert len(result.enriched) == 1 and len(result.dead_letters) == 20
    assert {d.code for d in result.dead_letters} == {"unknown_activity"}
    assert [d.workout for d in result.dead_letters] == bad  # each waiter, in input order
    assert {d.attempts for d in result.dead_letters} == {1}
    assert c.stats.dead_letters == 20


async def test_failed_calls_are_retried_inside_the_flight_not_failed_to_the_waiters() -> None:
    provider = CountingProvider(failures=3)
    c = client(provider)
    result = await c.enrich_batch([workout() for _ in range(30)])
    assert len(provider.calls) == 4 and c.stats.retries == 3
    assert len(result.enriched) == 30 and not result.dead_letters
    assert {e.attempts for e in result.enriched} == {4}  # the calls each one waited through


async def test_an_outage_stops_every_waiting_batch_and_dead_letters_nothing() -> None:
    provider = CountingProvider(failures=10**9)
    c = client(provider, backoff=Backoff(0.001, 0.01, max_wait_s=0.3))
    batches = [c.enrich_batch([workout(), workout("Swimming")]) for _ in range(4)]
    results = await asyncio.gather(*batches, return_exceptions=True)
    assert all(isinstance(r, CalorieOutage) for r in results), results
    assert c.stats.dead_letters == 0
    assert "waiting for the calorie API" in (c.waiting() or "")


async def test_a_waiter_cancelled_leaves_the_flight_to_the_others() -> None:
    provider = CountingProvider(delay_s=0.2)
    c = client(provider)
    first = asyncio.ensure_future(c.enrich_batch([workout()]))
    await asyncio.sleep(0.05)  # the flight is under way; now a second batch joins it
    second = asyncio.ensure_future(c.enrich_batch([workout()]))
    await asyncio.sleep(0)
    first.cancel()
    result = await second
    assert first.cancelled()
    assert len(result.enriched) == 1 and len(provider.calls) == 1
    assert c.cache.get("Rowing", 150.0) == kcal("Rowing", 150.0)  # and its answer is cached


async def test_without_single_flight_every_miss_calls() -> None:
    provider = CountingProvider()
    c = client(provider, single_flight=False)
    await c.enrich_batch([workout() for _ in range(5)])
    assert len(provider.calls) == 5


async def test_the_workers_bound_the_calls_in_flight() -> None:
    in_flight, most = 0, 0

    class Watched(CountingProvider):
        async def lookup(
            self, activity: str, weight_lb: float, duration_min: float
        ) -> CalorieQuote:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                return await super().lookup(activity, weight_lb, duration_min)
            finally:
                in_flight -= 1

    provider = Watched(delay_s=0.005)
    c = client(provider, concurrency=4)
    result = await c.enrich_batch([workout(weight_lb=100.0 + i) for i in range(40)])
    assert len(result.enriched) == 40 and len(provider.calls) == 40
    assert most == 4


async def test_closing_cancels_queued_flights() -> None:
    flights: SingleFlight[str, int] = SingleFlight(lambda f: asyncio.sleep(10), workers=1)
    first, second = flights.want("a"), flights.want("b")
    await asyncio.sleep(0)
    flights.close()
    await asyncio.sleep(0)
    assert first.cancelled() and second.cancelled() and len(flights) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.lists(
        st.tuples(st.sampled_from(["Rowing", "Swimming", "Yoga"]), st.integers(50, 53)),
        min_size=1,
        max_size=60,
    ),
    chunks=st.integers(1, 6),
    cached=st.booleans(),
)
def test_any_mix_of_concurrent_lookups_gets_each_key_its_own_answer(
    keys: list[tuple[str, int]], chunks: int, cached: bool
) -> None:
    """Lookups spread over concurrent batches: every workout gets its key's answer; with the
    cache each key is asked once; without it, never more often than there are batches."""

    async def scenario() -> tuple[list[float], list[float], int]:
        provider = CountingProvider(delay_s=0.001)
        c = client(provider, cache=QuoteCache(1000 if cached else 0))
        workouts = [workout(title, float(w)) for title, w in keys]
        parts = [workouts[i::chunks] for i in range(chunks)]
        results = await asyncio.gather(*(c.enrich_batch(part) for part in parts))
        got = {e.event_id: e.kcal_per_hour for r in results for e in r.enriched}
        wanted = [kcal(title, float(w)) for title, w in keys]
        return [got[w.event_id] for w in workouts], wanted, len(provider.calls)

    got, wanted, calls = asyncio.run(scenario())
    assert got == wanted
    distinct = len(set(keys))
    if cached:
        assert calls == distinct
    else:
        assert distinct <= calls <= distinct * chunks


def test_a_flight_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="workers"):
        SingleFlight(lambda f: asyncio.sleep(0), workers=0)
