"""The local calorie API, over real HTTP against a real process (``calorie_service``).

Expected calorie values are read from the CSV with the csv module, not through the table code
the service uses, so the two cannot agree by sharing a bug.
"""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.calories.table import ActivityRow
from services.calorie_api.config import DEFAULT_TABLE, load_config
from services.calorie_api.faults import SlidingWindowMax, TokenBucket
from services.calorie_api.query import (
    ACTIVITY_MAX_CHARS,
    CalorieQuery,
    InvalidQueryError,
    answer,
    parse_query,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = {"name", "calories_per_hour", "duration_minutes", "total_calories"}


def read_csv() -> dict[str, tuple[int, ...]]:
    with DEFAULT_TABLE.open(newline="", encoding="utf-8") as handle:
        return {
            rec["activity"]: tuple(int(rec[f"kcal_per_hour_{w}lb"]) for w in (130, 155, 180, 205))
            for rec in csv.DictReader(handle)
        }


TABLE = read_csv()
BMX = "Cycling, mountain bike, bmx"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        yield client


async def get(
    session: aiohttp.ClientSession,
    service: Any,
    headers: dict[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    **params: Any,
) -> tuple[int, Any]:
    """One API call; every answer but the HTML fault must be JSON."""
    merged = {**(query or {}), **{k: str(v) for k, v in params.items()}}
    async with session.get(service.api_url, params=merged, headers=headers) as response:
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()


# -- matching -------------------------------------------------------------------------------


async def test_health_counts_the_activities(calorie_service, session) -> None:
    service = calorie_service()
    async with session.get(f"{service.url}/health") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "activities": 248}
    assert len(TABLE) == 248


async def test_exact_name_answers_the_row_at_default_weight_and_duration(
    calorie_service, session
) -> None:
    status, body = await get(session, calorie_service(), activity=BMX)
    at_160 = TABLE[BMX][1] + (TABLE[BMX][2] - TABLE[BMX][1]) * 5 / 25
    assert status == 200
    assert body == [
        {
            "name": BMX,
            "calories_per_hour": round(at_160),
            "duration_minutes": 60,
            "total_calories": round(at_160),
        }
    ]


async def test_substring_is_case_insensitive_and_returns_every_match_in_file_order(
    calorie_service, session
) -> None:
    service = calorie_service()
    expected = [name for name in TABLE if "skiing" in name.lower()]
    for spelling in ("skiing", "SKIING", "sKiInG", "  Skiing  "):
        status, body = await get(session, service, activity=spelling)
        assert status == 200
        assert [item["name"] for item in body] == expected, spelling
        assert all(set(item) == KEYS for item in body)
    assert len(expected) > 1


async def test_unknown_activity_is_an_empty_list(calorie_service, session) -> None:
    assert await get(session, calorie_service(), activity="underwater basket weaving") == (200, [])


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ("155", lambda v: v[1]),
        ("130", lambda v: v[0]),
        ("205", lambda v: v[3]),
        ("167.5", lambda v: (v[1] + v[2]) / 2),
        ("100", lambda v: v[0] * 100 / 130),
        ("50", lambda v: v[0] * 50 / 130),
        ("400", lambda v: v[3] * 400 / 205),
        ("500", lambda v: v[3] * 500 / 205),
    ],
)
async def test_weight_interpolates_between_columns_and_scales_outside(
    calorie_service, session, weight, expected
) -> None:
    status, body = await get(session, calorie_service(), activity=BMX, weight=weight)
    assert status == 200
    assert body[0]["calories_per_hour"] == round(expected(TABLE[BMX]))


async def test_total_calories_follow_duration(calorie_service, session) -> None:
    service = calorie_service()
    at_155 = TABLE[BMX][1]
    cases = {"30": 30, "45.0": 45, "90.5": 90.5, "1440": 1440, "0.5": 0.5}
    for raw, echoed in cases.items():
        status, body = await get(session, service, activity=BMX, weight=155, duration=raw)
        assert status == 200
        assert body[0]["duration_minutes"] == echoed
        assert type(body[0]["duration_minutes"]) is type(echoed)
        assert body[0]["total_calories"] == round(at_155 * echoed / 60), raw


BAD_REQUESTS = [
    ({}, "activity"),
    ({"activity": ""}, "activity"),
    ({"activity": "   "}, "activity"),
    ({"activity": "x" * (ACTIVITY_MAX_CHARS + 1)}, "activity"),
    ({"activity": "run" * 5000}, "activity"),
    ({"activity": "run", "weight": "heavy"}, "weight"),
    ({"activity": "run", "weight": ""}, "weight"),
    ({"activity": "run", "weight": "nan"}, "weight"),
    ({"activity": "run", "weight": "49"}, "weight"),
    ({"activity": "run", "weight": "49.99"}, "weight"),
    ({"activity": "run", "weight": "501"}, "weight"),
    ({"activity": "run", "weight": "1e999"}, "weight"),
    ({"activity": "run", "duration": "0"}, "duration"),
    ({"activity": "run", "duration": "-5"}, "duration"),
    ({"activity": "run", "duration": "1441"}, "duration"),
    ({"activity": "run", "duration": "an hour"}, "duration"),
    ({"activity": "run", "duration": "inf"}, "duration"),
]


async def test_every_bad_parameter_is_a_400_naming_it_and_its_range(
    calorie_service, session
) -> None:
    service = calorie_service()
    wrong = []
    for params, name in BAD_REQUESTS:
        status, body = await get(session, service, query=params)
        message = body.get("error", "") if isinstance(body, dict) else ""
        if status != 400 or name not in message or not any(c.isdigit() for c in message):
            wrong.append((params.get(name, "")[:20], status, body))
    assert wrong == []
    assert service.stats()["bad_requests"] == len(BAD_REQUESTS)


async def test_unknown_path_and_method_answer_json(calorie_service, session) -> None:
    service = calorie_service()
    async with session.get(f"{service.url}/v1/nothing") as response:
        assert response.status == 404
        assert "error" in await response.json()
    async with session.post(service.api_url) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET,HEAD"
        assert "error" in await response.json()


# -- access control and rate limit -----------------------------------------------------------


async def test_api_key_is_required_when_configured_and_never_echoed(
    calorie_service, session
) -> None:
    key = "s3cret-key-123"
    service = calorie_service(api_key=key)
    for headers in (None, {"X-Api-Key": "wrong"}, {"X-Api-Key": key + "x"}, {"X-Api-Key": "é"}):
        status, body = await get(session, service, headers=headers, activity="running")
        assert status == 401
        assert "X-Api-Key" in body["error"]
        assert key not in body["error"]
    status, body = await get(session, service, headers={"X-Api-Key": key}, activity="running")
    assert status == 200 and body
    async with session.get(f"{service.url}/health") as response:
        assert response.status == 200
    assert service.stats()["unauthorized"] == 4
    assert key not in service.output()


async def test_rate_limit_answers_429_with_retry_after(calorie_service, session) -> None:
    # One token per 100 s: after the burst of 2 nothing refills within the test.
    service = calorie_service(rate_limit_per_s=0.01, rate_limit_burst=2)
    statuses = []
    for _ in range(5):
        async with session.get(service.api_url, params={"activity": "yoga"}) as response:
            statuses.append(response.status)
            if response.status == 429:
                retry_after = response.headers["Retry-After"]
                assert retry_after.isdigit() and int(retry_after) >= 1
                assert "rate limit" in (await response.json())["error"]
    assert statuses == [200, 200, 429, 429, 429]
    stats = service.stats()
    assert (stats["requests"], stats["ok"], stats["rejected_429"]) == (5, 2, 3)
    assert stats["max_requests_in_any_1s_window"] <= 2

    service.reset_stats()  # refills the bucket too
    assert (await get(session, service, activity="yoga"))[0] == 200
    assert service.stats()["rejected_429"] == 0


# -- injected faults --------------------------------------------------------------------------


async def test_error_rate_one_answers_503_json(calorie_service, session) -> None:
    service = calorie_service(error_rate=1.0, seed=1)
    for _ in range(3):
        status, body = await get(session, service, activity="running")
        assert status == 503 and "error" in body
    assert service.stats()["errors_5xx"] == 3


async def test_garbage_rate_one_answers_200_html(calorie_service, session) -> None:
    service = calorie_service(garbage_rate=1.0)
    async with session.get(service.api_url, params={"activity": "running"}) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert (await response.text()).startswith("<!DOCTYPE html>")
    assert service.stats()["garbage"] == 1


async def test_timeout_rate_one_hangs_until_the_client_gives_up(calorie_service, session) -> None:
    service = calorie_service(timeout_rate=1.0, hang_s=300)
    with pytest.raises(asyncio.TimeoutError):
        await session.get(
            service.api_url,
            params={"activity": "running"},
            timeout=aiohttp.ClientTimeout(total=0.5),
        )
    assert wait_for_stat(service, "timeouts", 1)
    assert service.stats()["ok"] == 0


async def test_a_hang_ends_in_a_normal_answer(calorie_service, session) -> None:
    service = calorie_service(timeout_rate=1.0, hang_s=0.05, latency_ms=10, jitter_ms=5, seed=3)
    status, body = await get(session, service, activity=BMX)
    assert status == 200 and body[0]["name"] == BMX
    stats = service.stats()
    assert (stats["timeouts"], stats["ok"]) == (1, 1)


def wait_for_stat(service: Any, name: str, value: int, deadline_s: float = 10.0) -> bool:
    """Poll until the server has counted what the client already saw happen."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if service.stats()[name] == value:
            return True
        time.sleep(0.02)
    return False


# -- counters, process ------------------------------------------------------------------------


async def test_stats_count_each_outcome_and_reset(calorie_service, session) -> None:
    service = calorie_service()
    for params in ({"activity": "yoga"}, {"activity": "yoga"}, {"weight": "1"}):
        await get(session, service, query=params)
    stats = service.stats()
    assert {k: stats[k] for k in ("requests", "ok", "bad_requests", "rejected_429")} == {
        "requests": 3,
        "ok": 2,
        "bad_requests": 1,
        "rejected_429": 0,
    }
    assert 1 <= stats["max_requests_in_any_1s_window"] <= 3
    assert stats["window"] == "sliding"
    reset = service.reset_stats()
    assert service.stats() == reset
    assert all(v == 0 for k, v in reset.items() if k != "window")


async def test_sigterm_stops_the_service_gracefully(calorie_service) -> None:
    service = calorie_service()
    service.stop()
    assert service.process.returncode == 0
    lines = service.output().splitlines()
    assert sum("listening on" in line for line in lines) == 1
    assert "shutting down" in lines[-1]


def test_factory_rejects_unknown_options(calorie_service) -> None:
    with pytest.raises(TypeError, match="latency"):
        calorie_service(latenc_ms=5)


def test_help_and_bad_settings_are_one_line(tmp_path) -> None:
    run = [sys.executable, "-m", "services.calorie_api"]
    shown = subprocess.run([*run, "--help"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert shown.returncode == 0 and "--rate-limit-per-s" in shown.stdout
    for flags, named in (
        (["--error-rate", "2"], "--error-rate"),
        (["--error-rate", "0.6", "--garbage-rate", "0.6"], "at most 1"),
        (["--table", str(tmp_path / "missing.csv")], "missing.csv"),
    ):
        bad = subprocess.run(
            [*run, "--port", "0", *flags], capture_output=True, text=True, cwd=REPO_ROOT
        )
        assert bad.returncode == 2
        assert bad.stderr.startswith("error: ") and named in bad.stderr
        assert "Traceback" not in bad.stderr


# -- pure parts: parsing, answer, limiter, window ---------------------------------------------

numbers = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(weight=st.floats(50, 500), duration=st.floats(0, 1440, exclude_min=True))
def test_valid_numbers_parse_to_themselves(weight: float, duration: float) -> None:
    query = parse_query({"activity": "run", "weight": repr(weight), "duration": repr(duration)})
    assert query == CalorieQuery("run", weight, duration)
    assert isinstance(query.weight_lb, int) == weight.is_integer()


@given(weight=numbers.filter(lambda w: not 50 <= w <= 500))
def test_out_of_range_weight_names_the_range(weight: float) -> None:
    with pytest.raises(InvalidQueryError, match=r"weight .* 50 to 500 lb"):
        parse_query({"activity": "run", "weight": repr(weight)})


@given(duration=numbers.filter(lambda d: not 0 < d <= 1440))
def test_out_of_range_duration_names_the_range(duration: float) -> None:
    with pytest.raises(InvalidQueryError, match=r"duration .* 1440"):
        parse_query({"activity": "run", "duration": repr(duration)})


@given(params=st.dictionaries(st.sampled_from(["activity", "weight", "duration", "x"]), st.text()))
def test_any_text_either_parses_or_is_invalid(params: dict[str, str]) -> None:
    try:
        query = parse_query(params)
    except InvalidQueryError as exc:
        assert str(exc)
    else:
        assert 0 < len(query.activity) <= ACTIVITY_MAX_CHARS
        assert 50 <= query.weight_lb <= 500 and 0 < query.duration_min <= 1440


@given(
    kcal=st.tuples(*[st.integers(1, 2000)] * 4),
    weight=st.floats(50, 500),
    duration=st.floats(0.01, 1440),
)
def test_answer_rounds_like_the_api(kcal: tuple[int, ...], weight: float, duration: float) -> None:
    row = ActivityRow("Some activity", tuple(float(k) for k in kcal))
    [item] = answer([row], CalorieQuery("some", weight, duration))
    exact = row.kcal_per_hour(weight)
    assert item["calories_per_hour"] == round(exact)
    assert item["total_calories"] == round(exact * duration / 60)
    assert item["duration_minutes"] == duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2, burst=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [None, None, None, 1]
    clock.now += 0.5  # one token back
    assert [bucket.try_acquire(), bucket.try_acquire()] == [None, 1]
    slow = TokenBucket(rate_per_s=0.25, burst=1, clock=clock)
    assert (slow.try_acquire(), slow.try_acquire()) == (None, 4)


@given(gaps=st.lists(st.floats(0, 2), max_size=60))
def test_sliding_window_max_is_the_busiest_second(gaps: list[float]) -> None:
    clock = FakeClock()
    window = SlidingWindowMax(clock=clock)
    stamps = []
    for gap in gaps:
        clock.now += gap
        stamps.append(clock.now)
        window.add()
    brute = max((sum(s - 1 < t <= s for t in stamps) for s in stamps), default=0)
    assert window.max_count == brute


def test_flags_win_over_environment_over_stack_settings(monkeypatch) -> None:
    from fitray.config import get_settings

    monkeypatch.setenv("FITRAY_CALORIE_SERVICE_ERROR_RATE", "0.25")
    monkeypatch.setenv("FITRAY_CALORIE_API_URL", "http://127.0.0.1:9191")
    monkeypatch.setenv("FITRAY_CALORIE_API_KEY", "from-the-stack")
    get_settings.cache_clear()
    try:
        from_env = load_config()
        flagged = load_config(error_rate=0.5, port=0, api_key="")
    finally:
        get_settings.cache_clear()
    assert (from_env.error_rate, from_env.port, from_env.required_key) == (
        0.25,
        9191,
        "from-the-stack",
    )
    assert (flagged.error_rate, flagged.port, flagged.required_key) == (0.5, 0, None)
    assert "from-the-stack" not in repr(from_env)
