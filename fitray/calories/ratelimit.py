"""Request rate limits: the bookkeeping, pure, and which limiter a client gets.

Limiters offer ``await limiter.acquire()`` before each request. The bucket's guarantee: in any
window of length T, at most ``burst + rate_per_s * T`` requests start. On a Ray cluster every
calorie client shares one bucket per API (:mod:`fitray.calories.shared_limit`, a named actor
leasing tokens in blocks); only code running without Ray gets a bucket of its own
(:func:`rate_limiter_for`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fitray.clients.ray import ray_running
from fitray.config import Settings

__all__ = ["Lease", "LeaseBucket", "RateLimiter", "TokenBucket", "rate_limiter_for"]

Clock = Callable[[], float]


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Return when one more request may start."""
        ...


class TokenBucket:
    """Refills ``rate_per_s`` tokens a second up to ``burst``; the clock is injectable for tests."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        start_empty: bool = False,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"rate_per_s must be > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = 0.0 if start_empty else float(burst)
        self._stamp = clock()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def reserve(self) -> float:
        """Take one token, going into debt if needed; returns the wait before using it.

        Debt makes waiters queue in order (each gets its own slot) instead of all waking at
        once to fight over the next token. A cancelled waiter wastes its slot: conservative.
        """
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s

    def take(self, want: int) -> tuple[int, float]:
        """Take up to ``want`` whole tokens, never into debt: ``(granted, wait_s if none)``."""
        self._refill()
        granted = max(0, min(want, math.floor(self._tokens)))
        self._tokens -= granted
        wait_s = 0.0 if granted else (1 - self._tokens) / self.rate_per_s
        return granted, wait_s

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate_per_s)
        self._stamp = now


@dataclass(frozen=True, slots=True)
class Lease:
    tokens: int  # granted now; 0 means wait retry_in_s and ask again
    ttl_s: float  # tokens beyond the first must be spent within this, else dropped
    retry_in_s: float


class LeaseBucket:
    """The cluster limiter's bookkeeping, pure (the Ray actor only wraps it).

    A leased token may be spent up to ``ttl_s`` after it was granted, so requests in a window
    of T seconds come from grants in a window of ``T + ttl_s``. Keeping ``floor(burst / 2)``
    of the burst back as ``rate_per_s * ttl_s`` makes the bound ``burst + rate_per_s * T``
    hold for spending exactly as it does for granting.

    ``start_empty``: a bucket that replaces a lost one (a restarted actor) starts without
    tokens, so the leases its predecessor granted and the new bucket's never add up to more
    than the bound.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        start_empty: bool = False,
    ) -> None:
        self.rate_per_s, self.burst = rate_per_s, burst
        held_back = burst // 2
        self.ttl_s = held_back / rate_per_s
        self.capacity = burst - held_back
        self._bucket = TokenBucket(rate_per_s, self.capacity, clock=clock, start_empty=start_empty)

    @property
    def lease_size(self) -> int:
        """Tokens worth asking for at once: ~50 ms of the rate, within the capacity."""
        return max(1, min(self.capacity, math.ceil(self.rate_per_s * 0.05)))

    def lease(self, want: int) -> Lease:
        limit = self.capacity if self.ttl_s > 0 else 1
        granted, wait_s = self._bucket.take(max(1, min(want, limit)))
        return Lease(granted, self.ttl_s, wait_s)


def rate_limiter_for(settings: Settings) -> RateLimiter:
    """The calorie API's limiter: shared by the whole cluster inside Ray, else this process's."""
    rate, burst = settings.calorie_rate_limit_per_s, settings.calorie_rate_burst
    if ray_running():
        from fitray.calories.shared_limit import ClusterRateLimiter

        return ClusterRateLimiter.for_api(settings)
    return TokenBucket(rate, burst)
