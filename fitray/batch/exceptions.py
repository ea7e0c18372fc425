"""Errors of the batch flow (bad reference data is :class:`fitray.exercises.BadExerciseData`)."""

from __future__ import annotations

from fitray.exceptions import TransientError

__all__ = ["ExtractError"]


class ExtractError(TransientError):
    """The document store could not be read."""
