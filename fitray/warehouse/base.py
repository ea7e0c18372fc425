"""The warehouse interface: read the watermark, load one staged batch in one transaction.

A load inserts the staged rows not yet present (merge keyed on event_id) *and* its row in
``loads`` in the same transaction, so a crash anywhere before the commit leaves the warehouse
as it was, and a re-run skips what is already there. The failpoint
``warehouse.before_commit`` (:mod:`fitray.failpoints`) fires right before the commit.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fitray.config import Failpoint
from fitray.failpoints import failpoint
from fitray.staging import Staging

__all__ = ["LoadRecord", "LoadResult", "Warehouse"]


@dataclass(frozen=True)
class LoadRecord:
    """What the flow knows about a load before the warehouse commits it."""

    load_id: str
    started_at: datetime
    watermark_before: datetime | None
    watermark_after: datetime | None
    documents_read: int
    staging_files: tuple[str, ...] = ()

    def row(self, result: LoadResult) -> tuple[object, ...]:
        """Values of the ``loads`` row, in :data:`fitray.warehouse.sql.LOADS_COLUMNS` order."""
        return (
            self.load_id,
            self.started_at,
            result.finished_at,
            self.watermark_before,
            self.watermark_after,
            self.documents_read,
            result.rows_inserted,
            result.rows_skipped,
            json.dumps(list(self.staging_files)),
        )


@dataclass(frozen=True)
class LoadResult:
    load_id: str
    rows_staged: int
    rows_inserted: int
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def rows_skipped(self) -> int:
        """Staged rows the warehouse already held (a re-run after a crash, say)."""
        return self.rows_staged - self.rows_inserted


class Warehouse(ABC):
    """One backend of the warehouse; connects lazily, on first use."""

    dialect: str

    def __init__(self, *, failpoints: Collection[Failpoint] = ()) -> None:
        self.failpoints = failpoints

    @abstractmethod
    def read_watermark(self) -> datetime | None:
        """The largest ``stored_at`` any committed load has seen (None before the first)."""

    @abstractmethod
    def load(self, staging: Staging, record: LoadRecord) -> LoadResult:
        """Merge the staged files of ``record`` into the target and record the load, atomically."""

    def close(self) -> None:  # noqa: B027 - optional for backends without a connection
        """Release connections (each call of load/read_watermark opens its own by default)."""

    def _about_to_commit(self) -> None:
        failpoint(self.failpoints, "warehouse.before_commit")
