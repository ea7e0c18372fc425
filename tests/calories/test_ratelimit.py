"""Token bucket and lease bookkeeping as pure units (injected clock), then the cluster-wide
limiter in Ray: two actors sharing one limit against the real calorie service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.calories.ratelimit import LeaseBucket, TokenBucket
from fitray.calories.shared_limit import ClusterRateLimiter
from fitray.clients.ray import connect_ray
from fitray.config import Settings
from tests.stream.conftest import wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def max_in_any_window(stamps: list[float], window_s: float = 1.0) -> int:
    """Most stamps in any half-open window [t, t + window_s), t anywhere."""
    ordered = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- token bucket ------------------------------------------------------------------------------


def test_bucket_starts_full_then_queues_waiters_in_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, 3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)


def test_bucket_refills_at_rate_up_to_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, 2, clock=clock)
    bucket.reserve(), bucket.reserve()
    clock.now += 0.25
    assert bucket.tokens == pytest.approx(1.0)
    clock.now += 100.0
    assert bucket.tokens == pytest.approx(2.0)


def test_take_grants_whole_tokens_without_debt() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 5, clock=clock)
    assert bucket.take(3) == (3, 0.0)
    assert bucket.take(10) == (2, 0.0)
    granted, wait_s = bucket.take(1)
    assert granted == 0
    assert wait_s == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take(4) == (1, 0.0)


def test_bucket_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
    with pytest.raises(ValueError):
        TokenBucket(1.0, 0)


@given(
    st.floats(0.5, 200.0),
    st.integers(1, 20),
    st.lists(st.floats(0.0, 0.5), min_size=1, max_size=300),
)
def test_reserved_slots_never_exceed_burst_plus_rate_in_any_second(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock)
    used_at = []
    for gap in gaps:
        clock.now += gap
        used_at.append(clock.now + bucket.reserve())
    assert max_in_any_window(used_at) <= burst + rate + 1e-9


async def test_acquire_returns_at_once_while_tokens_last() -> None:
    bucket = TokenBucket(1.0, 5)
    for _ in range(5):
        await bucket.acquire()
    assert bucket.tokens < 1


# -- leases ------------------------------------------------------------------------------------


def test_lease_holds_back_half_the_burst_for_late_spending() -> None:
    clock = FakeClock()
    leases = LeaseBucket(10.0, 6, clock=clock)
    assert (leases.capacity, leases.ttl_s) == (3, pytest.approx(0.3))
    first = leases.lease(16)
    assert first.tokens == 3
    second = leases.lease(16)
    assert second.tokens == 0
    assert second.retry_in_s == pytest.approx(0.1)


def test_burst_of_one_leases_single_tokens_to_spend_at_once() -> None:
    leases = LeaseBucket(5.0, 1, clock=FakeClock())
    assert leases.ttl_s == 0
    assert leases.lease(16).tokens == 1


@given(
    st.integers(1, 100),
    st.integers(1, 20),
    st.lists(
        st.tuples(st.floats(0.0, 0.3), st.integers(1, 20), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=200,
    ),
)
def test_leased_tokens_spent_within_ttl_keep_the_limit(
    rate: int, burst: int, asks: list[tuple[float, int, float]]
) -> None:
    """Whenever in its ttl a client spends a leased token, any second sees <= burst + rate."""
    clock = FakeClock()
    leases = LeaseBucket(float(rate), burst, clock=clock)
    spent_at = []
    for gap, want, lateness in asks:
        clock.now += gap
        lease = leases.lease(want)
        spent_at += [clock.now + lateness * lease.ttl_s for _ in range(lease.tokens)]
    assert max_in_any_window(spent_at) <= burst + rate


# -- cluster-wide, in Ray ----------------------------------------------------------------------


@pytest.fixture
def ray_cluster(stack: Settings) -> Any:
    """The stack's Ray head; the connection is kept for the session (a driver that shuts down
    one cluster and joins another in the same process loses object owners)."""
    import ray

    connect_ray(stack)
    return ray


def make_worker_class(ray: Any) -> Any:
    """Defined in a function so Ray pickles the class by value (test modules are not on the
    workers' path)."""

    @ray.remote(num_cpus=0)
    class LookupWorker:
        async def run(self, url: str, limiter: ClusterRateLimiter, count: int) -> int:
            from fitray.calories.provider import HttpCalorieProvider

            provider = HttpCalorieProvider(url)
            try:
                for _ in range(count):
                    await limiter.acquire()
                    await provider.lookup("Running, 6 mph (10 min mile)", 150, 30)
            finally:
                await provider.aclose()
            return count

    return LookupWorker


@pytest.mark.slow
def test_two_actors_share_one_cluster_wide_limit(ray_cluster: Any, calorie_service: Any) -> None:
    service = calorie_service()
    rate, burst, per_actor = 8.0, 4, 14
    limiter = ClusterRateLimiter(rate, burst, name=f"test-{uuid.uuid4().hex[:8]}")
    worker_cls = make_worker_class(ray_cluster)
    workers = [worker_cls.remote() for _ in range(2)]
    try:
        done = ray_cluster.get(
            [w.run.remote(service.url, limiter, per_actor) for w in workers], timeout=120
        )
        assert done == [per_actor, per_actor]
        stats = service.stats()
        assert stats["ok"] == 2 * per_actor
        assert stats["max_requests_in_any_1s_window"] <= rate + burst
        assert asyncio.run(limiter.config()) == (rate, burst)
    finally:
        limiter.kill()


@pytest.mark.slow
def test_an_idle_shared_limiter_retires_and_the_next_client_recreates_it(
    ray_cluster: Any,
) -> None:
    """Each API's limiter is a Ray worker process: unused, it must not live forever."""
    from fitray.clients.ray import NAMESPACE

    limiter = ClusterRateLimiter(100.0, 4, name=f"test-{uuid.uuid4().hex[:8]}", idle_retire_s=1.0)

    def alive() -> bool:
        try:
            ray_cluster.get_actor(limiter.actor_name, namespace=NAMESPACE)
        except ValueError:
            return False
        return True

    try:
        asyncio.run(limiter.acquire())
        assert alive()
        wait_for(lambda: not alive(), 30, "the idle limiter to retire")
        limiter._spare = 0  # the lease it still holds would answer without asking the actor
        asyncio.run(limiter.acquire())  # the handle it holds is dead: a new actor answers
        assert alive()
        assert asyncio.run(limiter.config()) == (100.0, 4)
    finally:
        limiter.kill()
