"""Errors of the local stack: each one line that names the cause and what to do."""

from fitray.exceptions import FitrayError

__all__ = ["StackError"]


class StackError(FitrayError):
    """A server could not be installed, started or reached."""
