"""Errors of the batch flow: bad reference data, unusable staging, failed extraction."""

from __future__ import annotations

from fitray.exceptions import TerminalError, TransientError

__all__ = ["BadReferenceData", "ExtractError", "StagingError"]


class BadReferenceData(TerminalError):
    """The exercise CSV is missing columns or has rows that cannot be used."""


class StagingError(TransientError):
    """Parquet could not be written to or read from the staging store."""


class ExtractError(TransientError):
    """The document store could not be read."""
