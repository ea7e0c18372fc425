"""Errors of the stream pipeline, typed by retryability (see :mod:`fitray.exceptions`)."""

from __future__ import annotations

from fitray.exceptions import FitrayError, ServiceUnavailable, TerminalError

__all__ = ["BrokerUnavailable", "StoreUnavailable", "StreamError", "StreamStalled"]


class StreamError(FitrayError):
    """Base of the stream pipeline's errors."""


class BrokerUnavailable(StreamError, ServiceUnavailable):
    """Kafka did not answer (down, restarting, unreachable); retry later."""


class StoreUnavailable(StreamError, ServiceUnavailable):
    """The document store did not acknowledge a write; retry the same batch later."""


class StreamStalled(StreamError, TerminalError):
    """No progress within the deadline; the message says which stage is stuck."""
