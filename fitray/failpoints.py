"""Failpoints: named places where fitray fails on purpose, for fault drills and tests.

A drill sets ``FITRAY_FAILPOINTS=warehouse.before_commit`` (comma-separated; the names are
:data:`fitray.config.FAILPOINTS`) and the run fails exactly there, through the same code path
a real crash would take: the guarantee "a crash between staging and commit leaves the warehouse
as it was" is then checked on the real flow, on Ray, not on a copy of it. Empty by default.
"""

from __future__ import annotations

from collections.abc import Collection

from fitray.config import Failpoint
from fitray.exceptions import FitrayError

__all__ = ["InjectedFault", "failpoint"]


class InjectedFault(FitrayError):
    """A failpoint fired: the failure was asked for (FITRAY_FAILPOINTS)."""


def failpoint(enabled: Collection[Failpoint], name: Failpoint) -> None:
    """Raise :class:`InjectedFault` if ``name`` is among the ``enabled`` failpoints."""
    if name in enabled:
        raise InjectedFault(f"failpoint {name} fired (FITRAY_FAILPOINTS asked for it)")
