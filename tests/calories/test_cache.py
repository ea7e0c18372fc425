"""Pure units: the weight a request carries (rounding), the key space, and the cache's TTL."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.calories.cache import QuoteCache, key_space, sent_weight
from fitray.calories.table import ActivityTable, load_activity_table

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = st.floats(50, 500, allow_nan=False)
FETCHED = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("weight", "step", "sent"),
    [
        (150.0, 1.0, 150.0),
        (150.49, 1.0, 150.0),
        (150.5, 1.0, 151.0),  # halves go up, whatever the parity (not banker's rounding)
        (151.5, 1.0, 152.0),
        (50.2, 1.0, 50.0),
        (499.7, 1.0, 500.0),
        (150.3, 0.5, 150.5),
        (498.0, 3.0, 498.0),
        (499.9, 3.0, 500.0),  # 501 would be out of the API's range: kept inside
        (50.1, 7.0, 50.0),  # 49 likewise
        (150.1234567, 0.0, 150.123),  # as given, at the 6 significant digits the request writes
    ],
)
def test_sent_weight_rounds_to_the_step_half_up_inside_the_api_range(
    weight: float, step: float, sent: float
) -> None:
    assert sent_weight(weight, step) == sent


def test_a_weight_outside_the_api_range_is_left_for_the_api_to_refuse() -> None:
    assert sent_weight(900.0, 1.0) == 900.0
    assert sent_weight(20.4, 1.0) == 20.0


@given(WEIGHTS, st.sampled_from([0.5, 1.0, 2.0, 5.0]))
def test_rounding_moves_a_weight_by_half_a_step_at_most_and_stays_in_range(
    weight: float, step: float
) -> None:
    sent = sent_weight(weight, step)
    assert 50 <= sent <= 500
    assert abs(sent - weight) <= step / 2 + 1e-9
    assert sent_weight(sent, step) == sent  # what is sent is its own key


@given(WEIGHTS)
def test_whole_pounds_move_kcal_per_hour_by_about_half_a_pound_over_the_weight(
    weight: float,
) -> None:
    """The accuracy the README states: |kcal(sent) - kcal(weight)| / kcal <= ~0.5 / weight."""
    table = _table()
    sent = sent_weight(weight, 1.0)
    for row in table.rows[::7]:
        exact = row.kcal_per_hour(weight)
        if exact > 0:
            assert abs(row.kcal_per_hour(sent) - exact) / exact <= 1.05 * 0.5 / weight


@pytest.mark.parametrize("step", [0.5, 1.0, 3.0, 7.0, 25.0])
def test_key_space_counts_every_weight_a_request_can_carry(step: float) -> None:
    grid = [50 + i * 0.01 for i in range(45_001)]
    assert key_space(1, step) == len({sent_weight(w, step) for w in grid})
    assert key_space(248, step) == 248 * key_space(1, step)


def test_key_space_at_whole_pounds_is_activities_times_451() -> None:
    assert key_space(248, 1.0) == 248 * 451


def test_entries_expire_after_the_ttl_and_count_as_misses() -> None:
    clock = FakeClock()
    cache = QuoteCache(8, ttl_s=60.0, clock=clock)
    key = cache.key("Running", 150.0)
    cache.store(key, 600.0, FETCHED)
    clock.now += 59.9
    assert cache.lookup(key) == (600.0, FETCHED)
    clock.now += 0.2
    assert cache.lookup(key) is None
    assert (cache.hits, cache.misses, cache.expired, len(cache)) == (1, 1, 1, 0)


def test_without_a_ttl_entries_never_expire() -> None:
    clock = FakeClock()
    cache = QuoteCache(8, clock=clock)
    cache.put("Running", 150.0, 600.0)
    clock.now += 10**9
    assert cache.get("running", 150) == 600.0


def test_a_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        QuoteCache(8, ttl_s=0)


def test_cache_key_is_the_activity_as_keyed_and_the_weight_as_sent() -> None:
    cache = QuoteCache(8)
    assert cache.key("  Running, 6 MPH ", 150) == ("running, 6 mph", 150.0)
    assert cache.key("RUNNING, 6 mph", 150.0) == cache.key("running, 6 mph", 150)


@cache
def _table() -> ActivityTable:
    return load_activity_table(ROOT / "data" / "activities.csv")
