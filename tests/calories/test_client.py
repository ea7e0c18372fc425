"""The calorie client: answer parsing as pure units, then every behaviour against the REAL
local calorie service (``calorie_service`` fixture) with its injected faults."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache
from fitray.calories.client import CalorieClient
from fitray.calories.exceptions import (
    CalorieMisconfigured,
    CalorieOutage,
    CalorieRejected,
    CalorieUnavailable,
)
from fitray.calories.outcomes import DeadLetter
from fitray.calories.provider import (
    CalorieQuote,
    HttpCalorieProvider,
    TableCalorieProvider,
    parse_answer,
    parse_retry_after,
)
from fitray.calories.ratelimit import TokenBucket
from fitray.calories.resolve import ActivityResolver, UnresolvedActivity
from fitray.calories.retry import Backoff
from fitray.calories.table import ActivityTable, load_activity_table
from fitray.schema import RawWorkout

ROOT = Path(__file__).resolve().parents[2]
RUN = "Running, 6 mph (10 min mile)"
UNKNOWN = "Underwater basket weaving"
FAST = Backoff(0.005, 0.05, max_wait_s=5.0)


@pytest.fixture(scope="module")
def table() -> ActivityTable:
    return load_activity_table(ROOT / "data" / "activities.csv")


@dataclass(frozen=True)
class StubResolution:
    title: str
    activity: str
    method: str = "exact"
    detail: str = "test"


class StubResolver:
    """Each title is its own activity; ``unresolved`` raises as the real resolver does."""

    def resolve(self, title: str) -> StubResolution:
        if title == "unresolved":
            raise UnresolvedActivity(title, "not in the test mapping")
        if title.startswith("fallback:"):
            return StubResolution(title, title.removeprefix("fallback:"), "fallback")
        return StubResolution(title, title)


def workout(title: str = RUN, weight_lb: float = 150.0, duration_min: float = 30.0) -> RawWorkout:
    return RawWorkout(
        event_id=uuid.uuid4().hex,
        title=title,
        weight_lb=weight_lb,
        duration_min=duration_min,
        event_time=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=1),
    )


def distinct(count: int, title: str = RUN) -> list[RawWorkout]:
    """Workouts that all miss the cache (distinct weights)."""
    return [workout(title, weight_lb=100.0 + i) for i in range(count)]


def http_client(url: str, api_key: str | None = None, **options: Any) -> CalorieClient:
    key = SecretStr(api_key) if api_key else None
    provider = HttpCalorieProvider(url, key, timeout_s=options.pop("timeout_s", 5.0))
    options.setdefault("backoff", FAST)
    options.setdefault("breaker", CircuitBreaker(1000, 60.0))
    return CalorieClient(provider, StubResolver(), options.pop("limiter", None), **options)


def codes(dead: list[DeadLetter]) -> set[str]:
    return {letter.code for letter in dead}


# -- parsing answers (pure) --------------------------------------------------------------------


def test_answer_picks_the_element_named_like_the_activity_else_the_first() -> None:
    data = (
        b'[{"name": "Running, fast", "calories_per_hour": 900, "total_calories": 450},'
        b' {"name": "Running", "calories_per_hour": 600, "total_calories": 300}]'
    )
    assert parse_answer("application/json", data, "running")["calories_per_hour"] == 600
    assert parse_answer("application/json", data, "runn")["calories_per_hour"] == 900


@pytest.mark.parametrize(
    ("content_type", "body", "why"),
    [
        ("text/html", b"<html>Just a moment</html>", "text/html instead of JSON"),
        ("application/json", b"{not json", "malformed JSON"),
        ("application/json", b'{"error": "x"}', "dict instead of a list"),
        ("application/json", b"[1]", "without a name"),
        (
            "application/json",
            b'[{"name": "a", "calories_per_hour": -1, "total_calories": 1}]',
            ">= 0",
        ),
        (
            "application/json",
            b'[{"name": "a", "calories_per_hour": true, "total_calories": 1}]',
            ">= 0",
        ),
        (
            "application/json",
            b'[{"name": "a", "calories_per_hour": "9", "total_calories": 1}]',
            ">= 0",
        ),
    ],
)
def test_garbage_answers_are_transient_with_a_clear_reason(
    content_type: str, body: bytes, why: str
) -> None:
    with pytest.raises(CalorieUnavailable, match=why) as info:
        parse_answer(content_type, body, "a")
    assert info.value.code == "garbage"


def test_empty_answer_is_a_terminal_unknown_activity() -> None:
    with pytest.raises(CalorieRejected, match="unknown activity") as info:
        parse_answer("application/json", b"[]", UNKNOWN)
    assert info.value.code == "unknown_activity"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# -- in-process table provider -----------------------------------------------------------------


async def test_table_provider_enriches_with_provenance(table: ActivityTable) -> None:
    client = CalorieClient(TableCalorieProvider(table), StubResolver())
    result = await client.enrich_batch([workout(RUN), workout(f"fallback:{RUN}", 160.0)])
    assert not result.dead_letters
    first, second = result.enriched
    expected = table.search(RUN)[0].kcal_per_hour(150.0)
    assert first.kcal_per_hour == pytest.approx(expected)
    assert first.total_kcal == pytest.approx(expected * 30 / 60)
    assert (first.provider, first.attempts, first.fallback_used) == ("table", 1, False)
    assert first.fetched_at.tzinfo is not None
    assert (second.resolution, second.fallback_used) == ("fallback", True)


async def test_table_answers_without_flights_one_call_per_key_unknown_dead_lettered(
    table: ActivityTable,
) -> None:
    """The table answers in the batch's own pass (no flight, no event-loop round trip), yet
    counts, caches and dead-letters exactly as a flight would."""
    client = CalorieClient(TableCalorieProvider(table), StubResolver())
    batch = [workout(RUN), workout(RUN), workout(RUN, 150.4), workout(RUN, 151.0),
             workout("Not an activity at all")]  # fmt: skip
    result = await client.enrich_batch(batch)
    assert client.lookups.flights.started == 0
    assert (client.stats.calls, client.stats.cache_hits) == (3, 2)  # 150 twice, 150.4 sent as 150
    assert [w.kcal_per_hour for w in result.enriched[:3]] == [result.enriched[0].kcal_per_hour] * 3
    assert result.enriched[3].kcal_per_hour == pytest.approx(
        table.search(RUN)[0].kcal_per_hour(151)
    )
    [letter] = result.dead_letters
    assert (letter.code, letter.attempts) == ("unknown_activity", 1)
    assert "Not an activity at all" in letter.reason


async def test_invalid_and_unresolved_workouts_are_dead_letters_not_exceptions(
    table: ActivityTable,
) -> None:
    client = CalorieClient(TableCalorieProvider(table), StubResolver())
    bad = {
        "event_id": "e1",
        "title": RUN,
        "weight_lb": 20.0,
        "duration_min": 30.0,
        "event_time": "2025-01-01T00:00:00Z",
    }
    result = await client.enrich_batch([bad, workout("unresolved"), workout()])
    assert len(result.enriched) == 1
    letters = {letter.code: letter for letter in result.dead_letters}
    assert set(letters) == {"invalid_record", "unresolved_activity"}
    assert letters["invalid_record"].workout is bad
    assert "weight_lb" in letters["invalid_record"].reason
    assert all(letter.attempts == 0 for letter in result.dead_letters)
    assert client.stats.dead_letters == 2


# -- against the real service ------------------------------------------------------------------

Service = Callable[..., Any]


async def test_happy_path_values_match_the_table(calorie_service: Service, table) -> None:
    service = calorie_service()
    async with http_client(service.url) as client:
        result = await client.enrich_batch([workout(RUN, 150.0, 45.0), workout(RUN, 205.0, 60.0)])
    assert not result.dead_letters
    for enriched in result.enriched:
        expected = round(table.search(RUN)[0].kcal_per_hour(enriched.weight_lb))  # API rounds
        assert enriched.kcal_per_hour == expected
        assert enriched.total_kcal == pytest.approx(expected * enriched.duration_min / 60)
        assert (enriched.activity, enriched.provider, enriched.attempts) == (RUN, "http", 1)
    assert service.stats()["ok"] == 2


async def test_real_resolver_titles_enrich(calorie_service: Service) -> None:
    service = calorie_service()
    resolver = ActivityResolver.from_files(
        ROOT / "mapping" / "mapping.json",
        ROOT / "data" / "megaGymDataset.csv",
        ROOT / "data" / "activities.csv",
    )
    titles = resolver.exercise_titles[:25]
    provider = HttpCalorieProvider(service.url)
    async with CalorieClient(provider, resolver, backoff=FAST) as client:
        result = await client.enrich_batch([workout(title) for title in titles])
    assert len(result.enriched) + len(result.dead_letters) == len(titles)
    assert len(result.enriched) >= 20
    for enriched in result.enriched:
        assert enriched.activity == resolver.resolve(enriched.title).activity
        assert enriched.fallback_used == (enriched.resolution == "fallback")


async def test_429s_are_recovered_and_the_service_limit_holds(calorie_service: Service) -> None:
    service = calorie_service(rate_limit_per_s=5, rate_limit_burst=2)
    async with http_client(service.url, backoff=Backoff(0.05, 2.0, max_wait_s=30.0)) as client:
        result = await client.enrich_batch(distinct(12))
    assert not result.dead_letters
    stats = service.stats()
    assert stats["rejected_429"] > 0
    assert client.stats.failures["rate_limited"] == stats["rejected_429"]
    assert client.stats.retries >= stats["rejected_429"]
    assert stats["max_requests_in_any_1s_window"] <= 5 + 2


async def test_client_rate_limit_keeps_the_service_window_under_limit_plus_burst(
    calorie_service: Service,
) -> None:
    service = calorie_service()
    rate, burst = 10.0, 3
    limiter = TokenBucket(rate, burst)
    async with http_client(service.url, limiter=limiter, concurrency=16) as client:
        result = await client.enrich_batch(distinct(30))
    assert len(result.enriched) == 30
    assert service.stats()["max_requests_in_any_1s_window"] <= rate + burst


async def test_5xx_are_retried_and_counted(calorie_service: Service) -> None:
    service = calorie_service(error_rate=0.3, seed=11)
    async with http_client(service.url) as client:
        result = await client.enrich_batch(distinct(30))
    assert len(result.enriched) == 30
    stats = service.stats()
    assert stats["errors_5xx"] > 0
    assert client.stats.failures["server_error"] == stats["errors_5xx"]
    assert client.stats.retries == stats["errors_5xx"]
    assert sum(e.attempts for e in result.enriched) == stats["requests"]
    assert max(e.attempts for e in result.enriched) > 1


async def test_hung_requests_time_out_and_are_retried(calorie_service: Service) -> None:
    service = calorie_service(timeout_rate=0.3, hang_s=60, seed=5)
    async with http_client(service.url, timeout_s=0.3) as client:
        result = await client.enrich_batch(distinct(20))
    assert len(result.enriched) == 20
    stats = service.stats()
    assert stats["timeouts"] > 0
    assert client.stats.failures["timeout"] == stats["timeouts"]


async def test_an_api_answering_only_garbage_is_an_outage_not_dead_letters(
    calorie_service: Service,
) -> None:
    service = calorie_service(garbage_rate=1.0)
    async with http_client(service.url, backoff=Backoff(0.005, 0.05, max_wait_s=0.5)) as client:
        with pytest.raises(CalorieOutage) as outage:
            await client.enrich_batch(distinct(4))
        assert client.stats.dead_letters == 0
        assert "waiting for the calorie API" in (client.waiting() or "")
    message = str(outage.value)
    assert service.api_url in message and "FITRAY_CALORIE_MAX_WAIT_S=0.5" in message
    assert "text/html instead of JSON" in message and "\n" not in message
    # every failure it saw was counted (a call cancelled with the batch may go unseen)
    assert 4 < client.stats.failures["garbage"] <= service.stats()["garbage"]


class FlakyForOneProvider:
    """A pure double: fails (transiently) for one activity, answers every other one."""

    name, where = "flaky", "the test double"

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        if activity == "flaky":
            raise CalorieUnavailable("server error (503)", code="server_error")
        return CalorieQuote(activity, 300.0, 300.0 * duration_min / 60, self.name)

    async def aclose(self) -> None:
        pass


async def test_one_workout_failing_while_the_api_answers_others_is_dead_lettered() -> None:
    client = CalorieClient(
        FlakyForOneProvider(), StubResolver(), breaker=CircuitBreaker(1000, 60.0),
        backoff=Backoff(0.01, 0.05, max_wait_s=0.5),
    )  # fmt: skip

    async def others() -> None:  # the API keeps answering other workouts meanwhile
        for i in range(40):
            await client.enrich(workout(RUN, weight_lb=100.0 + i))
            await asyncio.sleep(0.02)

    result, _ = await asyncio.gather(client.enrich_batch([workout("flaky"), workout()]), others())
    assert len(result.enriched) == 1
    (letter,) = result.dead_letters
    assert letter.code == "api_unavailable" and letter.attempts > 1
    assert "while the API answered others" in letter.reason


async def test_unknown_activity_and_out_of_range_values_are_dead_letters(
    calorie_service: Service,
) -> None:
    service = calorie_service()
    too_heavy = RawWorkout.model_construct(**{**workout().model_dump(), "weight_lb": 900.0})
    async with http_client(service.url) as client:
        result = await client.enrich_batch([workout(UNKNOWN), too_heavy, workout()])
    assert len(result.enriched) == 1
    letters = {letter.code: letter for letter in result.dead_letters}
    assert set(letters) == {"unknown_activity", "rejected_by_api"}
    assert UNKNOWN in letters["unknown_activity"].reason
    assert "weight" in letters["rejected_by_api"].reason
    assert all(letter.attempts == 1 for letter in result.dead_letters)  # terminal: no retry


async def test_breaker_opens_and_the_client_stops_calling(calorie_service: Service) -> None:
    service = calorie_service(error_rate=1.0)
    breaker = CircuitBreaker(3, 60.0)
    backoff = Backoff(0.005, 0.05, max_wait_s=0.5)
    async with http_client(service.url, breaker=breaker, concurrency=2, backoff=backoff) as client:
        with pytest.raises(CalorieOutage):
            await client.enrich_batch(distinct(20))
        calls_when_open = service.stats()["requests"]
        with pytest.raises(CalorieOutage, match="circuit breaker is open"):
            await client.enrich_batch(distinct(20))
        assert client.stats.dead_letters == 0
    assert breaker.state == "open"
    assert calls_when_open < 20
    assert service.stats()["requests"] == calls_when_open  # open: not one more call


async def test_cache_hits_avoid_calls(calorie_service: Service) -> None:
    service = calorie_service()
    async with http_client(service.url) as client:
        first = await client.enrich(workout(RUN, 150.0, 30.0))
        result = await client.enrich_batch([workout(RUN.upper(), 150.0, d) for d in (10, 20, 90)])
    assert service.stats()["requests"] == 1
    assert [e.attempts for e in result.enriched] == [0, 0, 0]
    assert {e.kcal_per_hour for e in result.enriched} == {first.kcal_per_hour}
    assert result.enriched[2].total_kcal == pytest.approx(first.total_kcal * 3)
    assert (client.stats.cache_hits, client.stats.cache_misses) == (3, 1)


async def test_cache_off_asks_again_for_every_lookup_not_under_way(
    calorie_service: Service,
) -> None:
    service = calorie_service()
    async with http_client(service.url, cache=QuoteCache(0)) as client:
        for _ in range(3):  # one after the other: nothing kept, each one asks
            await client.enrich(workout())
        assert service.stats()["requests"] == 3
        result = await client.enrich_batch([workout() for _ in range(5)])  # at once: one call
    assert service.stats()["requests"] == 4
    assert len(result.enriched) == 5 and client.stats.coalesced == 4


async def test_api_key_is_sent_and_a_wrong_one_never_leaks(
    calorie_service: Service,
    caplog: pytest.LogCaptureFixture,
) -> None:
    right, wrong = "right-key-7f3a9c", "wrong-key-51be02"
    service = calorie_service(api_key=right)
    caplog.set_level(logging.DEBUG)
    async with http_client(service.url, api_key=right) as client:
        assert len((await client.enrich_batch([workout()])).enriched) == 1
    async with http_client(service.url, api_key=wrong) as client:
        with pytest.raises(CalorieMisconfigured) as refused:  # a setting to fix: stop, at once
            await client.enrich_batch([workout(), workout(RUN, 120.0)])
    assert "FITRAY_CALORIE_API_KEY" in str(refused.value)
    for text in (str(refused.value), repr(refused.value), caplog.text):
        assert right not in text
        assert wrong not in text
    assert service.stats()["unauthorized"] <= 2


class OutageProvider:
    """A pure double: down for the first ``down_calls`` calls, then answers (an outage)."""

    name, where = "outage", "the test double"

    def __init__(self, down_calls: int) -> None:
        self.down_calls, self.calls = down_calls, 0

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        self.calls += 1
        if self.calls <= self.down_calls:
            raise CalorieUnavailable("connection refused", code="unavailable")
        return CalorieQuote(activity, 300.0, 300.0 * duration_min / 60, self.name)

    async def aclose(self) -> None:
        pass


async def test_short_outage_is_waited_out_not_dead_lettered() -> None:
    breaker = CircuitBreaker(2, 0.05)  # opens after 2 failures, probes again after 50 ms
    provider = OutageProvider(down_calls=4)
    client = CalorieClient(
        provider, StubResolver(), breaker=breaker, concurrency=1,
        backoff=Backoff(0.001, 0.01, max_wait_s=1.0),
    )  # fmt: skip
    result = await client.enrich_batch(distinct(5))
    assert len(result.enriched) == 5 and not result.dead_letters
    assert breaker.times_opened >= 1  # it stopped calling, then recovered


async def test_outage_longer_than_max_wait_stops_the_batch_without_dead_letters() -> None:
    breaker = CircuitBreaker(2, 5.0)  # a cool-down longer than the client will wait
    client = CalorieClient(
        OutageProvider(down_calls=100), StubResolver(), breaker=breaker, concurrency=1,
        backoff=Backoff(0.001, 0.01, max_wait_s=1.0),
    )  # fmt: skip
    with pytest.raises(CalorieOutage, match=r"answered nobody for 1 s .*re-run the same command"):
        await client.enrich_batch(distinct(3))
    assert client.stats.dead_letters == 0
