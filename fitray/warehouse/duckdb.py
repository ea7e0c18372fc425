"""The embedded default warehouse: a DuckDB file, loaded straight from Arrow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fitray.staging import Staging
from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseError, WarehouseUnavailable
from fitray.warehouse.sql import (
    create_loads_sql,
    create_target_sql,
    insert_load_sql,
    merge_sql,
    watermark_sql,
)

__all__ = ["DuckDBWarehouse"]


class DuckDBWarehouse(Warehouse):
    """A DuckDB file; one connection per call, so other processes can read between loads."""

    dialect = "duckdb"

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({str(self.path)!r})"

    def _connect(self) -> Any:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise WarehouseUnavailable(f"DuckDB file {self.path} not usable: {exc}") from exc

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
