"""Errors of the calorie client, under fitray's transient/terminal roots.

Each error carries a short ``code`` (``rate_limited``, ``server_error``, ``timeout``,
``garbage``, ``unknown_activity``...) so counters and dead letters group failures by kind
without parsing message text. Messages never contain the API key.
"""

from __future__ import annotations

from fitray.exceptions import ConfigError, ServiceUnavailable, TerminalError, TransientError

__all__ = [
    "CalorieMisconfigured",
    "CalorieOutage",
    "CalorieRejected",
    "CalorieUnavailable",
    "CircuitOpen",
]


class CalorieUnavailable(TransientError):
    """The calorie provider failed in a way that may pass: 429, 5xx, timeout, garbage."""

    def __init__(self, message: str, *, code: str, retry_after_s: float | None = None) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.code = code


class CalorieRejected(TerminalError):
    """The provider refused the request for good: bad parameter, bad key, unknown activity."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class CircuitOpen(CalorieUnavailable):
    """The breaker refuses calls for ``retry_after_s`` more seconds: wait, or dead-letter."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(
            f"calorie API circuit breaker is open; next probe in {retry_after_s:.2f}s",
            code="circuit_open",
            retry_after_s=retry_after_s,
        )


class CalorieOutage(ServiceUnavailable):
    """The calorie API answered nobody for longer than the wait: the run stops (nothing is
    dead-lettered; a re-run, or the raw topic's uncommitted offsets, brings the events back)."""


class CalorieMisconfigured(ConfigError):
    """The API refused the key or has no such endpoint: a setting to fix, not bad data."""
