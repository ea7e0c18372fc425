"""The root of fitray's errors.

Every error fitray raises on purpose derives from :class:`FitrayError`, so a caller (the CLI
above all) can tell a user's mistake or an unavailable server from a bug. Retryability is part
of the type: loops ask ``isinstance(exc, TransientError)``, never the message text.
"""

from __future__ import annotations

__all__ = ["ConfigError", "FitrayError", "ServiceUnavailable", "TerminalError", "TransientError"]


class FitrayError(Exception):
    """Base class of every error fitray raises on purpose; its message is one line for a user."""


class TransientError(FitrayError):
    """A failure that may succeed if tried again later (a timeout, a 5xx, a broker restart)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TerminalError(FitrayError):
    """A failure that will fail the same way again (bad input, an unknown activity)."""


class ConfigError(TerminalError):
    """A missing or invalid setting; the message names the variable and what to do."""


class ServiceUnavailable(TransientError):
    """A server fitray depends on is down or unreachable: not bad input. Pipelines wait for it
    (visibly, within a bound); the message names the address, the setting and what to do."""
