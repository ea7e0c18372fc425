"""PostgreSQL warehouse: Arrow -> binary COPY into a temporary table -> merge, in one transaction.

ADBC's PostgreSQL driver (``adbc-driver-postgresql``, libpq underneath) ingests the Arrow table
itself: its C++ writer turns each column into PostgreSQL's binary COPY format -- no CSV or text
rendered, no Python per row or per value, timestamps and floats sent as their binary values.
The rows land in a temporary table created from the schema module, then one ``INSERT ... SELECT
... ON CONFLICT (event_id) DO NOTHING`` merges them and the ``loads`` row follows, all in the
connection's one transaction (ADBC's DB-API connections do not autocommit).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

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

__all__ = ["PostgresWarehouse", "ingest_arrow"]

STAGING_TABLE = "staged_rows"


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, conninfo: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._conninfo = conninfo  # holds the password: never in repr, logs or errors

    def __repr__(self) -> str:
        return "PostgresWarehouse(<conninfo redacted>)"

    def _connect(self) -> Any:
        import adbc_driver_postgresql.dbapi as adbc

        try:
            return adbc.connect(self._conninfo)
        except adbc.Error as exc:
            raise WarehouseUnavailable(f"PostgreSQL not reachable: {self._scrub(exc)}") from None

    def read_watermark(self) -> datetime | None:
        conn = self._connect()
        try:
            _ensure_tables(conn)
            with conn.cursor() as cur:
                cur.execute(watermark_sql())
                value = cur.fetchone()[0]
        finally:
            conn.close()
        return value.astimezone(UTC) if value is not None else None

    def load(self, staging: Staging, record: LoadRecord) -> LoadResult:
        import adbc_driver_postgresql.dbapi as adbc

        rows = staging.read(list(record.staging_files))
        conn = self._connect()
        try:
            _ensure_tables(conn)
            result = self._merge(conn, rows, record)
            self._about_to_commit()
            conn.commit()
        except adbc.OperationalError as exc:
            _rollback(conn)
            message = f"PostgreSQL load {record.load_id}: {self._scrub(exc)}"
            raise WarehouseUnavailable(message) from None
        except adbc.Error as exc:
            _rollback(conn)
            raise WarehouseError(f"PostgreSQL load {record.load_id}: {self._scrub(exc)}") from None
        except BaseException:
            _rollback(conn)
            raise
        finally:
            conn.close()
        return result

    def _merge(self, conn: Any, rows: pa.Table, record: LoadRecord) -> LoadResult:
        with conn.cursor() as cur:
            cur.execute(f"{create_target_sql('postgres', STAGING_TABLE, temp=True)} ON COMMIT DROP")
            ingest_arrow(cur, STAGING_TABLE, rows)
            cur.execute(merge_sql("postgres", STAGING_TABLE))
            result = LoadResult(record.load_id, rows.num_rows, cur.rowcount)
            cur.execute(insert_load_sql("$"), record.row(result))  # libpq: $1, $2, ...
        return result

    def _scrub(self, exc: BaseException) -> str:
        """The error's first line, never the password (whatever the driver chose to quote)."""
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        for part in self._conninfo.split():
            if part.startswith("password=") and len(part) > len("password="):
                text = text.replace(part.split("=", 1)[1], "***")
        return text


def ingest_arrow(cursor: Any, table_name: str, rows: pa.Table) -> int:
    """Append ``rows`` (columns in the table's order) to an existing temporary table through
    binary COPY; returns the rows written."""
    return int(cursor.adbc_ingest(table_name, rows, mode="append", temporary=True))


def _ensure_tables(conn: Any) -> None:
    # Committed on their own: a failed load must not take the (empty) tables with it.
    with conn.cursor() as cur:
        cur.execute(create_target_sql("postgres"))
        cur.execute(create_loads_sql("postgres"))
    conn.commit()


def _rollback(conn: Any) -> None:
    # the connection may be gone already: the error that brought us here is the one to report
    with contextlib.suppress(Exception):
        conn.rollback()
