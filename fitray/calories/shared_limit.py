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

An actor nobody asked anything of for ``calorie_limiter_idle_s`` removes itself (each is a Ray
worker process of ~170 MB: a cluster that has seen many APIs or keys would otherwise keep one
per API forever); the next client of that API creates it again, with a full bucket -- nobody
used the quota for that long.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from fitray.calories.ratelimit import Lease, LeaseBucket
from fitray.clients.ray import NAMESPACE
from fitray.config import Settings

__all__ = ["ClusterRateLimiter", "api_limit_name"]

log = logging.getLogger(__name__)
IDLE_RETIRE_S = 600.0  # an actor unused this long removes itself; the next client recreates it
RECREATE_ATTEMPTS = 5


def api_limit_name(url: str, key: str | None) -> str:
    """A name per API: its URL and key, hashed (the key itself never leaves the process)."""
    digest = hashlib.sha256(f"{url.rstrip('/')}\n{key or ''}".encode()).hexdigest()[:16]
    return f"calorie-api-{digest}"


class _LeaseServer:
    """Body of the named actor; made remote lazily so importing this module needs no Ray.

    Async (one event loop, so no locks): a watchdog task ends the actor once it has been idle
    for ``idle_retire_s``."""

    def __init__(self, rate_per_s: float, burst: int, idle_retire_s: float = IDLE_RETIRE_S):
        import ray

        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self._bucket = LeaseBucket(rate_per_s, burst, start_empty=restarted)
        self._idle_retire_s, self._used_at = idle_retire_s, time.monotonic()
        self._watchdog: asyncio.Task[None] | None = None

    async def lease(self, want: int) -> Lease:
        self._used()
        return self._bucket.lease(want)

    async def configure(self, rate_per_s: float, burst: int) -> tuple[float, int]:
        """Enforce ``rate_per_s`` and ``burst`` from now on; returns what was enforced."""
        self._used()
        old = self._bucket.rate_per_s, self._bucket.burst
        if old != (rate_per_s, burst):
            self._bucket = LeaseBucket(rate_per_s, burst, start_empty=True)
        return old

    async def config(self) -> tuple[float, int]:
        self._used()
        return self._bucket.rate_per_s, self._bucket.burst

    def _used(self) -> None:
        self._used_at = time.monotonic()
        if self._watchdog is None:  # the actor's loop runs by now (not yet in __init__)
            self._watchdog = asyncio.get_running_loop().create_task(self._retire_when_idle())

    async def _retire_when_idle(self) -> None:
        import ray

        while (idle := time.monotonic() - self._used_at) < self._idle_retire_s:
            await asyncio.sleep(self._idle_retire_s - idle)
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)


class ClusterRateLimiter:
    """The shared limit of the API called ``name``; nothing touches Ray before :meth:`acquire`."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        name: str = "calorie-api",
        idle_retire_s: float = IDLE_RETIRE_S,
    ) -> None:
        self.rate_per_s, self.burst, self.name = rate_per_s, burst, name
        self.idle_retire_s = idle_retire_s
        self._lease_size = LeaseBucket(rate_per_s, burst).lease_size
        self._actor: Any = None
        self._spare = 0
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None

    @classmethod
    def for_api(cls, settings: Settings) -> ClusterRateLimiter:
        key = settings.calorie_api_key.get_secret_value() if settings.calorie_api_key else None
        name = api_limit_name(settings.calorie_api_url, key)
        return cls(
            settings.calorie_rate_limit_per_s,
            settings.calorie_rate_burst,
            name=name,
            idle_retire_s=settings.calorie_limiter_idle_s,
        )

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
                lease = await self._lease()
                if lease.tokens:
                    self._spare, self._expires_at = lease.tokens - 1, asked_at + lease.ttl_s
                    return
                await asyncio.sleep(lease.retry_in_s)

    async def _lease(self) -> Lease:
        """One lease; an actor that retired (idle) since our last call is created again."""
        from ray.exceptions import RayActorError

        for attempt in range(RECREATE_ATTEMPTS):
            try:
                actor = await self._handle()
                return await actor.lease.remote(self._lease_size)  # type: ignore[no-any-return]
            except RayActorError:  # retired, or its name not yet released: ask again
                self._actor = None
                await asyncio.sleep(0.05 * attempt)
        raise RuntimeError(f"the rate-limit actor {self.actor_name} died {RECREATE_ATTEMPTS} times")

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
            ).remote(self.rate_per_s, self.burst, self.idle_retire_s)
            old = tuple(await actor.configure.remote(self.rate_per_s, self.burst))
            if old != (self.rate_per_s, self.burst):
                log.warning(
                    "calorie API limit %s changed from %g/s (burst %d) to %g/s (burst %d)",
                    self.name, old[0], old[1], self.rate_per_s, self.burst,
                )  # fmt: skip
            self._actor = actor
        return self._actor
