"""Is the calorie API up? One tracker per client: when it last answered, since when it fails.

A workout that keeps failing while the API answers others is that workout's problem (it is
dead-lettered after the wait); an API that answers nobody is an outage: every workout waits,
the pipeline shows the waiting state (:meth:`ApiHealth.describe`), and past the bound the run
stops with one clear error instead of dead-lettering good events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ApiHealth"]


class ApiHealth:
    def __init__(self, where: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where  # the API's URL (no key), for messages
        self._clock = clock
        self._failing_since: float | None = None
        self._answered_at: float | None = None
        self.last_error: str | None = None
        self.failures = 0  # consecutive failed calls

    def now(self) -> float:
        return self._clock()

    def succeeded(self) -> None:
        self._failing_since, self.last_error, self.failures = None, None, 0
        self._answered_at = self._clock()

    def answered_since(self, moment: float) -> bool:
        """Whether the API answered any call after ``moment`` (a clock reading of :meth:`now`)."""
        return self._answered_at is not None and self._answered_at > moment

    def failed(self, error: str) -> None:
        if self._failing_since is None:
            self._failing_since = self._clock()
        self.last_error = error
        self.failures += 1

    def down_for(self) -> float:
        """Seconds since every call started failing (0 while the API answers)."""
        return 0.0 if self._failing_since is None else self._clock() - self._failing_since

    def describe(self, max_wait_s: float, breaker_state: str) -> str | None:
        """The waiting state for a person, or None while the API answers."""
        if self._failing_since is None:
            return None
        breaker = "; circuit breaker open" if breaker_state != "closed" else ""
        return (
            f"waiting for the calorie API at {self.where}: failing for {self.down_for():.0f} s "
            f"of at most {max_wait_s:.0f} s ({self.failures} failed calls, last: "
            f"{self.last_error}){breaker}"
        )
