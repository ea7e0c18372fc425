"""Injected faults and the counters that let tests prove what a client did.

Faults model what a real API does under load: latency, 503s, hung connections, an HTML page
from a proxy where JSON was expected, and 429s from a token bucket. One random draw per
request picks at most one of the error/timeout/garbage faults, so rates of 1.0 are exact.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .config import CalorieServiceConfig

__all__ = ["Fault", "FaultInjector", "ServiceStats", "SlidingWindowMax", "TokenBucket"]


class Fault(enum.Enum):
    NONE = "none"
    ERROR = "error"
    TIMEOUT = "timeout"
    GARBAGE = "garbage"


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst`` saved; one token per request."""

    def __init__(
        self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s, self.burst, self._clock = rate_per_s, burst, clock
        self._tokens, self._stamp = burst, clock()

    def try_acquire(self) -> int | None:
        """None if a token was taken, else the whole seconds (>= 1) until one is available."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / self.rate_per_s))

    def refill(self) -> None:
        self._tokens, self._stamp = self.burst, self._clock()


class SlidingWindowMax:
    """The most events seen in any sliding 1-second window (exact, not bucketed).

    The busiest window can always be slid to end at an event, so checking the count of the
    last second at each event finds it; memory is bounded by that count.
    """

    def __init__(self, window_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s, self._clock = window_s, clock
        self._stamps: deque[float] = deque()
        self.max_count = 0
        self.count = 0
        self.first: float | None = None  # clock of the first and the last event
        self.last: float | None = None

    @property
    def span_s(self) -> float:
        """Seconds from the first event to the last (0 before two events)."""
        return (self.last - self.first) if self.first is not None and self.last else 0.0

    def add(self) -> None:
        now = self._clock()
        self.count += 1
        self.first = now if self.first is None else self.first
        self.last = now
        stamps = self._stamps
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        stamps.append(now)
        self.max_count = max(self.max_count, len(stamps))


@dataclass
class ServiceStats:
    """Counters of the API endpoint (``/health`` and ``/stats`` are not counted)."""

    requests: int = 0  # every request to /v1/caloriesburned
    ok: int = 0  # 200 with the JSON answer (hung requests included once they answer)
    bad_requests: int = 0  # 400
    unauthorized: int = 0  # 401
    rejected_429: int = 0
    errors_5xx: int = 0  # injected 503s and unexpected 500s
    timeouts: int = 0  # requests that started hanging
    garbage: int = 0  # 200 text/html
    accepted: SlidingWindowMax = field(default_factory=SlidingWindowMax, repr=False)

    def reset(self) -> None:
        for counter in fields(self):
            if counter.name != "accepted":
                setattr(self, counter.name, 0)
        self.accepted = SlidingWindowMax()

    def as_dict(self) -> dict[str, int | float | str]:
        counters = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "accepted"}
        return {
            **counters,
            # accepted = authorised and let through by the rate limiter
            "accepted": self.accepted.count,
            "accepted_span_s": round(self.accepted.span_s, 6),
            "max_requests_in_any_1s_window": self.accepted.max_count,
            "window": "sliding",
        }


class FaultInjector:
    """Draws latency and faults from one seeded generator, per the service's configuration."""

    def __init__(self, config: CalorieServiceConfig) -> None:
        self._random = random.Random(config.seed)
        self._latency_s = config.latency_ms / 1000
        self._jitter_s = config.jitter_ms / 1000
        self._thresholds = (
            (config.timeout_rate, Fault.TIMEOUT),
            (config.timeout_rate + config.error_rate, Fault.ERROR),
            (config.timeout_rate + config.error_rate + config.garbage_rate, Fault.GARBAGE),
        )
        self.hang_s = config.hang_s

    def latency_s(self) -> float:
        if not self._jitter_s:
            return self._latency_s
        return max(0.0, self._latency_s + self._random.uniform(-self._jitter_s, self._jitter_s))

    def draw(self) -> Fault:
        if not self._thresholds[-1][0]:
            return Fault.NONE
        roll = self._random.random()  # in [0, 1), so a rate of 1.0 always hits
        for threshold, fault in self._thresholds:
            if roll < threshold:
                return fault
        return Fault.NONE
