"""One rate limit for every calorie client of a Ray cluster: a named actor leasing tokens.

Every client of the same API (URL and key) shares one actor, ``fitray-rate-limit-<api>`` in
namespace ``fitray``: two stream runs, a backfill and a batch that enriches all draw from one
bucket, so together they never exceed the quota. The actor is detached (it outlives the run
that created it) and restartable; a restarted actor starts with an empty bucket (see
:class:`~fitray.calories.ratelimit.LeaseBucket`), and calls interrupted by its death are
retried by Ray, so the limit holds across a restart. Clients take tokens in leases of ~50 ms of
the rate: one actor call (about a millisecond) per lease, not per request.

The limit belongs to the API: when a client brings a different rate or burst than the actor
enforces, the actor takes the new one (the newest configuration of an API is the one its
operator means) and the client logs the change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from fitray.calories.ratelimit import Lease, LeaseBucket
from fitray.clients.ray import NAMESPACE
from fitray.config import Settings

__all__ = ["ClusterRateLimiter", "api_limit_name"]

log = logging.getLogger(__name__)


def api_limit_name(url: str, key: str | None) -> str:
    """A name per API: its URL and key, hashed (the key itself never leaves the process)."""
    digest = hashlib.sha256(f"{url.rstrip('/')}\n{key or ''}".encode()).hexdigest()[:16]
    return f"calorie-api-{digest}"


class _LeaseServer:
    """Body of the named actor; made remote lazily so importing this module needs no Ray."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        import ray

        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self._bucket = LeaseBucket(rate_per_s, burst, start_empty=restarted)

    def lease(self, want: int) -> Lease:
        return self._bucket.lease(want)

    def configure(self, rate_per_s: float, burst: int) -> tuple[float, int]:
        """Enforce ``rate_per_s`` and ``burst`` from now on; returns what was enforced."""
        old = self._bucket.rate_per_s, self._bucket.burst
        if old != (rate_per_s, burst):
            self._bucket = LeaseBucket(rate_per_s, burst, start_empty=True)
        return old

    def config(self) -> tuple[float, int]:
        return self._bucket.rate_per_s, self._bucket.burst


class ClusterRateLimiter:
    """The shared limit of the API called ``name``; nothing touches Ray before :meth:`acquire`."""

    def __init__(self, rate_per_s: float, burst: int, *, name: str = "calorie-api") -> None:
        self.rate_per_s, self.burst, self.name = rate_per_s, burst, name
        self._lease_size = LeaseBucket(rate_per_s, burst).lease_size
        self._actor: Any = None
        self._spare = 0
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None

    @classmethod
    def for_api(cls, settings: Settings) -> ClusterRateLimiter:
        key = settings.calorie_api_key.get_secret_value() if settings.calorie_api_key else None
        name = api_limit_name(settings.calorie_api_url, key)
        return cls(settings.calorie_rate_limit_per_s, settings.calorie_rate_burst, name=name)

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
            actor = await self._handle()
            while True:
                asked_at = loop.time()
                lease: Lease = await actor.lease.remote(self._lease_size)
                if lease.tokens:
                    self._spare, self._expires_at = lease.tokens - 1, asked_at + lease.ttl_s
                    return
                await asyncio.sleep(lease.retry_in_s)

    async def config(self) -> tuple[float, int]:
        """The (rate_per_s, burst) the shared actor enforces now."""
        return tuple(await (await self._handle()).config.remote())  # type: ignore[return-value]

    def kill(self) -> None:
        """Remove the shared actor for good (tests, or to retire an API); others recreate it."""
        import ray

        if self._actor is not None:
            ray.kill(self._actor, no_restart=True)
            self._actor = None

    async def _handle(self) -> Any:
        if self._actor is None:
            import ray

            remote_cls = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(_LeaseServer)
            actor: Any = remote_cls.options(
                name=self.actor_name, namespace=NAMESPACE, get_if_exists=True, lifetime="detached"
            ).remote(self.rate_per_s, self.burst)
            old = tuple(await actor.configure.remote(self.rate_per_s, self.burst))
            if old != (self.rate_per_s, self.burst):
                log.warning(
                    "calorie API limit %s changed from %g/s (burst %d) to %g/s (burst %d)",
                    self.name, old[0], old[1], self.rate_per_s, self.burst,
                )  # fmt: skip
            self._actor = actor
        return self._actor
