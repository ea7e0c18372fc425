"""A circuit breaker: stop calling a provider that keeps failing, probe it now and then.

``closed`` (calls pass) -> after ``threshold`` consecutive transient failures -> ``open``
(calls refused with :class:`CircuitOpen`, whose ``retry_after_s`` is the rest of the
cool-down) -> after ``cooldown_s`` -> ``half_open``: exactly one probe call passes; its
success closes the breaker, its failure opens it for another cool-down. Terminal answers
(an unknown activity) prove the provider is up, so they count as successes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from fitray.calories.exceptions import CircuitOpen

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        cooldown_s: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or cooldown_s <= 0:
            raise ValueError(
                f"need threshold >= 1 and cooldown_s > 0, got {threshold}, {cooldown_s}"
            )
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._remaining() <= 0 else "open"

    def check(self) -> None:
        """Raise :class:`CircuitOpen` while open, without claiming the half-open probe."""
        if self.state == "open":
            raise CircuitOpen(self._remaining())

    def allow(self) -> None:
        """Let one call through or raise :class:`CircuitOpen`; pair with one ``record_*``."""
        state = self.state
        if state == "open":
            raise CircuitOpen(self._remaining())
        if state == "half_open":
            if self._probing:  # the probe is out; others wait about one request's time
                raise CircuitOpen(min(self.cooldown_s, 1.0))
            self._probing = True

    def record_success(self) -> None:
        self._failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        """A transient failure: count it; the threshold (or a failed probe) opens the circuit."""
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self.threshold):
            self._opened_at = self._clock()
            self.times_opened += 1
        self._probing = False

    def record_neutral(self) -> None:
        """Neither proof of health nor of failure (a 429, a cancelled call): free the probe."""
        self._probing = False

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.cooldown_s - self._clock()
