"""Pure units: the circuit breaker's state machine, backoff bounds, and cache keying."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.calories.breaker import CircuitBreaker
from fitray.calories.cache import QuoteCache, cache_key
from fitray.calories.exceptions import CircuitOpen
from fitray.calories.retry import Backoff
from fitray.exceptions import TransientError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def open_breaker(clock: FakeClock, threshold: int = 3, cooldown_s: float = 10.0) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold, cooldown_s, clock=clock)
    for _ in range(threshold):
        breaker.allow()
        breaker.record_failure()
    return breaker


# -- circuit breaker ---------------------------------------------------------------------------


def test_breaker_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.times_opened == 1


def test_a_success_resets_the_failure_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed"


def test_open_breaker_refuses_with_the_rest_of_the_cooldown(clock: FakeClock) -> None:
    breaker = open_breaker(clock, cooldown_s=10.0)
    clock.now += 4.0
    with pytest.raises(CircuitOpen) as info:
        breaker.allow()
    assert isinstance(info.value, TransientError)
    assert info.value.retry_after_s == pytest.approx(6.0)
    with pytest.raises(CircuitOpen):
        breaker.check()


def test_half_open_lets_exactly_one_probe_through(clock: FakeClock) -> None:
    breaker = open_breaker(clock)
    clock.now += 10.0
    assert breaker.state == "half_open"
    breaker.check()  # does not claim the probe
    breaker.allow()
    with pytest.raises(CircuitOpen):
        breaker.allow()


def test_successful_probe_closes(clock: FakeClock) -> None:
    breaker = open_breaker(clock)
    clock.now += 10.0
    breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.allow()
    breaker.allow()


def test_failed_probe_reopens_for_a_full_cooldown(clock: FakeClock) -> None:
    breaker = open_breaker(clock, cooldown_s=10.0)
    clock.now += 12.0
    breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.times_opened == 2
    with pytest.raises(CircuitOpen) as info:
        breaker.allow()
    assert info.value.retry_after_s == pytest.approx(10.0)


def test_neutral_outcome_frees_the_probe_without_closing(clock: FakeClock) -> None:
    breaker = open_breaker(clock)
    clock.now += 10.0
    breaker.allow()
    breaker.record_neutral()
    assert breaker.state == "half_open"
    breaker.allow()  # a new probe may go


def test_breaker_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(0, 1.0)


# -- backoff -----------------------------------------------------------------------------------

backoffs = st.builds(
    lambda base, factor: Backoff(base, base * factor), st.floats(0.001, 2.0), st.floats(1.0, 100.0)
)


@given(
    backoffs,
    st.integers(1, 200),
    st.one_of(st.none(), st.floats(0.0, 300.0)),
    st.floats(0.0, 1.0, exclude_max=True),
)
def test_backoff_delay_is_within_cap_and_honours_retry_after(
    backoff: Backoff, attempt: int, retry_after_s: float | None, draw: float
) -> None:
    delay = backoff.delay(attempt, retry_after_s, rand=lambda: draw)
    assert delay >= 0
    assert delay >= (retry_after_s or 0.0)
    assert delay <= max(backoff.cap_s, retry_after_s or 0.0)
    if retry_after_s is None or retry_after_s <= backoff.cap_s:
        assert delay <= backoff.cap_s


@given(backoffs, st.integers(1, 100))
def test_backoff_ceiling_doubles_until_the_cap(backoff: Backoff, attempt: int) -> None:
    expected = min(backoff.cap_s, backoff.base_s * 2 ** (attempt - 1))
    assert backoff.ceiling(attempt) == pytest.approx(expected)


def test_backoff_rejects_a_cap_below_the_base_or_a_negative_wait() -> None:
    with pytest.raises(ValueError):
        Backoff(1.0, 0.5)
    with pytest.raises(ValueError):
        Backoff(0.1, 1.0, max_wait_s=-1)


# -- cache -------------------------------------------------------------------------------------


def test_cache_key_is_lowercased_trimmed_activity_and_weight() -> None:
    assert cache_key("  Running, 6 MPH ", 150) == ("running, 6 mph", 150.0)
    assert cache_key("running, 6 mph", 150.0) == cache_key("RUNNING, 6 MPH", 150)
    assert cache_key("running", 150.0) != cache_key("running", 150.5)


def test_cache_counts_hits_and_misses() -> None:
    cache = QuoteCache(8)
    assert cache.get("Running", 150) is None
    cache.put("Running", 150, 600.0)
    assert cache.get("running", 150.0) == 600.0
    assert cache.get("RUNNING ", 150) == 600.0
    assert cache.get("running", 151) is None
    assert (cache.hits, cache.misses) == (2, 2)
    assert cache.hit_rate == 0.5


def test_cache_evicts_the_least_recently_used() -> None:
    cache = QuoteCache(2)
    cache.put("a", 100, 1.0)
    cache.put("b", 100, 2.0)
    assert cache.get("a", 100) == 1.0  # a is now the most recent
    cache.put("c", 100, 3.0)
    assert cache.get("b", 100) is None
    assert cache.get("a", 100) == 1.0
    assert cache.get("c", 100) == 3.0
    assert len(cache) == 2


def test_cache_of_size_zero_keeps_nothing() -> None:
    cache = QuoteCache(0)
    cache.put("a", 100, 1.0)
    assert cache.get("a", 100) is None
    assert len(cache) == 0
