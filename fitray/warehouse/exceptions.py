"""Warehouse errors: one place per driver maps its errors onto these (see each backend)."""

from __future__ import annotations

from fitray.exceptions import TerminalError, TransientError

__all__ = ["WarehouseBusy", "WarehouseError", "WarehouseUnavailable"]


class WarehouseError(TerminalError):
    """The warehouse refused the load (bad SQL, schema mismatch, permissions)."""


class WarehouseUnavailable(TransientError):
    """The warehouse could not be reached or dropped the connection; retry later."""


class WarehouseBusy(WarehouseUnavailable):
    """DuckDB's file stayed locked by another process (one writer or many readers) too long."""
