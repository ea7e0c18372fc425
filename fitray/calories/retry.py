"""How long to wait before trying again: exponential backoff with full jitter, capped.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of
many clients that failed together, so they do not hit a recovering server in lockstep. A
server's ``Retry-After`` (or an open breaker's cool-down) is a floor: we never come back
sooner than it asked. How long to keep trying is not a number of attempts but a time,
``max_wait_s`` (see :mod:`fitray.calories.client`): an outage makes the pipeline wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.1
    cap_s: float = 5.0
    max_wait_s: float = 300.0  # how long a failing workout (or the whole API) is waited for

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError(f"invalid backoff {self}: need 0 < base_s <= cap_s")
        if self.max_wait_s < 0:
            raise ValueError(f"invalid backoff {self}: max_wait_s must be >= 0")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 * base already dwarfs any cap
        return min(self.cap_s, self.base_s * 2.0**exponent)

    def delay(
        self,
        attempt: int,
        retry_after_s: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt ``attempt``: in [0, cap], at least Retry-After."""
        jittered = rand() * self.ceiling(attempt)
        return max(jittered, retry_after_s or 0.0)
