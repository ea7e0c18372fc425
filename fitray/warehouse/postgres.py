"""PostgreSQL warehouse: Arrow -> COPY into a temporary table -> merge, in one transaction.

COPY reads CSV that Arrow's C++ writer renders batch by batch (no Python loop per row): nulls
are unquoted empty fields, strings are always quoted (so '' stays an empty string), floats
are never NaN (the metrics module guarantees it). ``psycopg`` is the driver: redshift-connector
cannot talk to plain PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from fitray.staging import Staging
from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseError, WarehouseUnavailable
from fitray.warehouse.sql import (
    create_loads_sql,
    create_target_sql,
    insert_load_sql,
    merge_sql,
    target_columns,
    watermark_sql,
)

__all__ = ["COPY_BATCH_ROWS", "PostgresWarehouse", "copy_arrow"]

COPY_BATCH_ROWS = 50_000
STAGING_TABLE = "staged_rows"


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, conninfo: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._conninfo = conninfo  # holds the password: never in repr, logs or errors

    def __repr__(self) -> str:
        return "PostgresWarehouse(<conninfo redacted>)"

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self._conninfo, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise WarehouseUnavailable(f"PostgreSQL not reachable: {_first_line(exc)}") from None

    def read_watermark(self) -> datetime | None:
        with self._connect() as conn:
            _ensure_tables(conn)
            value = conn.execute(watermark_sql()).fetchone()[0]
        return value.astimezone(UTC) if value is not None else None

    def load(self, staging: Staging, record: LoadRecord) -> LoadResult:
        import psycopg

        rows = staging.read(list(record.staging_files))
        conn = self._connect()
        try:
            _ensure_tables(conn)
            with conn.transaction():
                result = self._merge(conn, rows, record)
                self._about_to_commit()
        except psycopg.OperationalError as exc:
            message = f"PostgreSQL load {record.load_id}: {_first_line(exc)}"
            raise WarehouseUnavailable(message) from exc
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL load {record.load_id}: {_first_line(exc)}") from exc
        finally:
            conn.close()
        return result

    def _merge(self, conn: Any, rows: pa.Table, record: LoadRecord) -> LoadResult:
        conn.execute(f"{create_target_sql('postgres', STAGING_TABLE, temp=True)} ON COMMIT DROP")
        copy_arrow(conn, STAGING_TABLE, rows)
        inserted = conn.execute(merge_sql("postgres", STAGING_TABLE)).rowcount
        result = LoadResult(record.load_id, rows.num_rows, inserted)
        conn.execute(insert_load_sql("%s"), record.row(result))
        return result


def copy_arrow(conn: Any, table_name: str, rows: pa.Table) -> None:
    """COPY an Arrow table into ``table_name`` (columns in schema order) as Arrow-written CSV."""
    columns = ", ".join(target_columns())
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with conn.cursor().copy(f"COPY {table_name} ({columns}) FROM STDIN (FORMAT CSV)") as copy:
        for batch in rows.to_batches(max_chunksize=COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, write_options=options)
            copy.write(buffer.getbuffer())


def _ensure_tables(conn: Any) -> None:
    # Committed on their own: a failed load must not take the (empty) tables with it.
    with conn.transaction():
        conn.execute(create_target_sql("postgres"))
        conn.execute(create_loads_sql("postgres"))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
