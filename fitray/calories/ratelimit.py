"""Request rate limits: a token bucket per event loop, and one shared by a whole Ray cluster.

Both offer ``await limiter.acquire()`` before each request. The bucket's guarantee: in any
window of length T, at most ``burst + rate_per_s * T`` requests start. The cluster-wide
limiter keeps the same guarantee across every process: a named Ray actor owns the bucket and
hands out tokens in small *leases*, so a client pays one actor call per lease, not per
request (an actor call costs about a millisecond here).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ClusterRateLimiter",
    "Lease",
    "LeaseBucket",
    "RateLimiter",
    "TokenBucket",
]

Clock = Callable[[], float]


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Return when one more request may start."""
        ...


class TokenBucket:
    """Refills ``rate_per_s`` tokens a second up to ``burst``; the clock is injectable for tests."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"rate_per_s must be > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
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
    """

    def __init__(self, rate_per_s: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        held_back = burst // 2
        self.ttl_s = held_back / rate_per_s
        self.capacity = burst - held_back
        self._bucket = TokenBucket(rate_per_s, self.capacity, clock=clock)

    def lease(self, want: int) -> Lease:
        limit = self.capacity if self.ttl_s > 0 else 1
        granted, wait_s = self._bucket.take(max(1, min(want, limit)))
        return Lease(granted, self.ttl_s, wait_s)


class _LeaseServer:
    """Body of the named Ray actor; made remote lazily so importing this module needs no Ray."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self._config = (rate_per_s, burst)
        self._bucket = LeaseBucket(rate_per_s, burst)

    def lease(self, want: int) -> Lease:
        return self._bucket.lease(want)

    def config(self) -> tuple[float, int]:
        return self._config


class ClusterRateLimiter:
    """One limit for every client of a Ray cluster sharing ``name``.

    The actor is named ``fitray-rate-limit-<name>`` in namespace ``fitray``, detached (it
    outlives whichever process created it) and found with ``get_if_exists``: the first
    creator's rate and burst win (see :meth:`config`). Nothing touches Ray until the first
    :meth:`acquire`.
    """

    namespace = "fitray"

    def __init__(
        self, rate_per_s: float, burst: int, *, name: str = "calorie-api", lease_size: int = 16
    ) -> None:
        self.rate_per_s, self.burst, self.name = rate_per_s, burst, name
        self._lease_size = lease_size
        self._actor: Any = None
        self._spare = 0
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None

    @property
    def actor_name(self) -> str:
        return f"fitray-rate-limit-{self.name}"

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:  # one lease call at a time serves every waiter of this loop
            if self._spare > 0 and loop.time() < self._expires_at:
                self._spare -= 1
                return
            while True:
                asked_at = loop.time()
                lease: Lease = await self._handle().lease.remote(self._lease_size)
                if lease.tokens:
                    self._spare, self._expires_at = lease.tokens - 1, asked_at + lease.ttl_s
                    return
                await asyncio.sleep(lease.retry_in_s)

    async def config(self) -> tuple[float, int]:
        """The (rate_per_s, burst) the shared actor really enforces."""
        return await self._handle().config.remote()

    def kill(self) -> None:
        """Remove the shared actor (tests, or to change the limit); others recreate it."""
        import ray

        ray.kill(self._handle())
        self._actor = None

    def _handle(self) -> Any:
        if self._actor is None:
            import ray

            remote_cls = ray.remote(num_cpus=0, max_restarts=-1)(_LeaseServer)
            self._actor = remote_cls.options(
                name=self.actor_name,
                namespace=self.namespace,
                get_if_exists=True,
                lifetime="detached",
            ).remote(self.rate_per_s, self.burst)
        return self._actor
