"""Single flight: concurrent lookups of one key make one call; the others await it.

:meth:`SingleFlight.want` gives every lookup of a key the same future while a flight of that
key is under way. Flights wait in a queue for one of ``workers`` worker tasks (the bound on
calls in flight); a worker makes one attempt per turn -- ``attempt(flight)`` -- which either
lands the flight (its future gets the outcome, whatever it is: a value, a rejection, an
outage) or asks for another turn after a delay (:meth:`SingleFlight.retry_later`: backoff
holds no worker). So a failed call never fails the waiters by itself: they keep waiting
through the retries, and the outcome reaches each of them once.

Flights belong to the pool, not to the first caller: a batch cancelled (or stopped by an
outage) while it waits leaves them running for everyone else who waits, and their answers
still land in the cache. Only :meth:`SingleFlight.close` cancels them. One future per key
and a few long-lived workers, rather than a task per key, keep the garbage collector's work
per call small when thousands of keys are queued.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Flight", "SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(eq=False, slots=True)
class Flight(Generic[K, V]):
    """One key's lookup, across its attempts."""

    key: K
    future: asyncio.Future[V]
    args: Any = None  # what the attempt needs beyond the key
    tries: int = 0  # attempts begun
    calls: int = 0  # calls made (the attempt function counts them: a refused try is none)
    first_failure: float | None = None  # when its attempts began to fail (the attempt's clock)
    timer: asyncio.TimerHandle | None = None  # its next turn, while it waits for one

    def land(self, outcome: V) -> None:
        if not self.future.done():
            self.future.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class SingleFlight(Generic[K, V]):
    """The flights under way, by key, flown by at most ``workers`` tasks at once."""

    def __init__(self, attempt: Callable[[Flight[K, V]], Awaitable[None]], *, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._attempt, self._max_workers = attempt, workers
        self._flights: dict[K, Flight[K, V]] = {}
        self._queue: deque[Flight[K, V]] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._active = 0  # workers that have not decided to stop
        self._timers: set[asyncio.TimerHandle] = set()
        self.started = 0  # flights started (one call, or one retry loop, each)
        self.joined = 0  # lookups that found their key's flight under way

    def __len__(self) -> int:
        return len(self._flights)

    def __contains__(self, key: object) -> bool:
        return key in self._flights

    def want(self, key: K, args: Any = None) -> asyncio.Future[V]:
        """The future of ``key``'s flight: the one under way, else a new one, queued.
        Await it through :func:`asyncio.wait` or :func:`asyncio.shield`: a waiter cancelled
        while awaiting it bare would cancel it for everyone."""
        flight = self._flights.get(key)
        if flight is not None:
            self.joined += 1
            return flight.future
        flight = Flight(key, asyncio.get_running_loop().create_future(), args)
        self._flights[key] = flight
        self.started += 1
        flight.future.add_done_callback(lambda _: self._landed(flight))
        self._enqueue(flight)
        return flight.future

    def retry_later(self, flight: Flight[K, V], delay_s: float) -> None:
        """Give ``flight`` another attempt after ``delay_s``, without holding a worker."""
        loop = asyncio.get_running_loop()
        flight.timer = loop.call_later(max(0.0, delay_s), self._due, flight)
        self._timers.add(flight.timer)

    def close(self) -> None:
        """Cancel every worker, timer and flight (the client is closing)."""
        for task in self._workers:
            task.cancel()
        for timer in self._timers:
            timer.cancel()
        for flight in list(self._flights.values()):
            flight.future.cancel()
        self._queue.clear()

    def _enqueue(self, flight: Flight[K, V]) -> None:
        self._queue.append(flight)
        if self._active < self._max_workers:
            self._active += 1
            worker = asyncio.ensure_future(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    def _due(self, flight: Flight[K, V]) -> None:
        if flight.timer is not None:
            self._timers.discard(flight.timer)
            flight.timer = None
        if not flight.future.done():
            self._enqueue(flight)

    async def _work(self) -> None:
        """Fly queued flights, one attempt at a time, until the queue is empty."""
        try:
            while self._queue:
                flight = self._queue.popleft()
                if flight.future.done():
                    continue
                flight.tries += 1
                try:
                    await self._attempt(flight)
                except Exception as exc:  # the attempt function's bug: this flight fails
                    flight.fail(exc)
        finally:
            self._active -= 1  # decided with the queue seen empty: no await in between

    def _landed(self, flight: Flight[K, V]) -> None:
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]
        if not flight.future.cancelled():
            flight.future.exception()  # retrieved: its waiters may all have gone
