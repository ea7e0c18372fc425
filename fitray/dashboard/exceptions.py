"""States of the warehouse the dashboard shows as one plain line instead of an error.

``WarehouseEmpty`` is not a failure (no batch has loaded yet); ``WarehouseBusy`` and
``WarehouseUnavailable`` are transient: the next refresh may succeed. Every message names the
setting or the command that fixes it.
"""

from __future__ import annotations

from fitray.exceptions import ServiceUnavailable, TerminalError
from fitray.warehouse.exceptions import WarehouseBusy, WarehouseUnavailable

__all__ = ["HealthIncomplete", "WarehouseBusy", "WarehouseEmpty", "WarehouseUnavailable"]


class WarehouseEmpty(TerminalError):
    """The warehouse holds no table or no row yet: run a batch load first."""


class HealthIncomplete(ServiceUnavailable):
    """Some store did not answer: the health report is partial (``fitray report`` exits 1)."""
