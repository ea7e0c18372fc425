"""The embedded default warehouse: a DuckDB file, loaded straight from Arrow.

DuckDB lets one process write a file or several read it, never both: a load waits (with
backoff, bounded) while the dashboard reads, and the dashboard waits while a load writes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fitray.staging import Staging
from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseBusy, WarehouseError, WarehouseUnavailable
from fitray.warehouse.sql import (
    create_loads_sql,
    create_target_sql,
    insert_load_sql,
    merge_sql,
    watermark_sql,
)

__all__ = ["LOCK_WAIT_S", "DuckDBWarehouse", "open_duckdb"]

LOCK_WAIT_S = 30.0  # a reader holds the file for a query's milliseconds; a load for seconds


def open_duckdb(path: Path, *, read_only: bool, wait_s: float = LOCK_WAIT_S) -> Any:
    """A connection to the file, waiting up to ``wait_s`` while another process holds it."""
    import duckdb

    deadline, delay_s = time.monotonic() + wait_s, 0.05
    while True:
        try:
            # never fetch an extension from the network: fitray runs offline
            config: dict[str, Any] = {"autoinstall_known_extensions": False}
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseUnavailable(
                    f"DuckDB file {path} cannot be opened ({_first_line(exc)}); "
                    "check FITRAY_DUCKDB_PATH"
                ) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusy(
                    f"DuckDB file {path} stayed locked by another process for {wait_s:g} s "
                    "(a batch load, or the dashboard reading); try again in a moment"
                ) from None
            time.sleep(min(delay_s, remaining))  # back off until the other side lets go
            delay_s = min(delay_s * 2, 1.0)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class DuckDBWarehouse(Warehouse):
    """A DuckDB file; one connection per call, so other processes can read between loads."""

    dialect = "duckdb"

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({str(self.path)!r})"

    def _connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return open_duckdb(self.path, read_only=False)

    def read_watermark(self) -> datetime | None:
        con = self._connect()
        try:
            _ensure_tables(con)
            value = con.execute(watermark_sql()).fetchone()[0]
        finally:
            con.close()
        return value.astimezone(UTC) if value is not None else None

    def load(self, staging: Staging, record: LoadRecord) -> LoadResult:
        import duckdb

        rows = staging.read(list(record.staging_files))
        con = self._connect()
        _ensure_tables(con)
        try:
            con.execute("BEGIN TRANSACTION")
            con.register("staged_rows", rows)
            inserted = con.execute(merge_sql("duckdb", "staged_rows")).fetchone()[0]
            result = LoadResult(record.load_id, rows.num_rows, int(inserted))
            con.execute(insert_load_sql("?"), record.row(result))
            self._about_to_commit()
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"DuckDB load {record.load_id} failed: {exc}") from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        return result


def _ensure_tables(con: Any) -> None:
    # Committed on their own: a failed load must not take the (empty) tables with it.
    con.execute(create_target_sql("duckdb"))
    con.execute(create_loads_sql("duckdb"))
