"""How long to wait before trying again: exponential backoff with full jitter, capped.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of
many clients that failed together, so they do not hit a recovering server in lockstep. A
server's ``Retry-After`` (or an open breaker's cool-down) is a floor: we never come back
sooner than it asked, and we wait for it up to ``max_wait_s``, so a short outage or a quota
window makes the pipeline wait (backpressure) instead of dead-lettering everything.
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
    max_attempts: int = 5
    max_wait_s: float = 30.0  # longest server-requested wait honoured before giving up

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.max_attempts < 1:
            raise ValueError(f"invalid backoff {self}: need 0 < base_s <= cap_s, max_attempts >= 1")
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
        """Seconds to wait after failed attempt ``attempt``: in [0, cap], at least Retry-After.

        A Retry-After above the cap returns that Retry-After; callers decide (see
        :meth:`gives_up`) whether waiting that long is worth it.
        """
        jittered = rand() * self.ceiling(attempt)
        return max(jittered, retry_after_s or 0.0)

    def gives_up(self, attempt: int, retry_after_s: float | None = None) -> bool:
        """True when no attempt should follow: attempts used up, or asked to wait too long."""
        return attempt >= self.max_attempts or (retry_after_s or 0.0) > self.max_wait_s
