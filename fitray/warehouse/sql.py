"""SQL text shared by the backends, generated from the schema module (no shapes repeated).

The target keeps the original 19 columns (plus ``load_id`` and ``extracted_at``) so existing
dashboards keep querying ``exercises_enriched``; ``loads`` records every committed load.
"""

from __future__ import annotations

import pyarrow as pa

from fitray.config import WarehouseBackend
from fitray.schema import WAREHOUSE_ROW_SCHEMA

__all__ = [
    "LOADS_COLUMNS",
    "LOADS_TABLE",
    "TARGET_TABLE",
    "Dialect",
    "create_loads_sql",
    "create_target_sql",
    "insert_load_sql",
    "merge_sql",
    "target_columns",
    "watermark_sql",
]

Dialect = WarehouseBackend
TARGET_TABLE = "exercises_enriched"
LOADS_TABLE = "loads"
LOADS_COLUMNS = (
    "load_id",
    "started_at",
    "finished_at",
    "watermark_before",
    "watermark_after",
    "documents_read",
    "rows_inserted",
    "rows_skipped",
    "staging_files",
)


def _sql_type(arrow_type: pa.DataType, dialect: Dialect) -> str:
    if pa.types.is_floating(arrow_type):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    if pa.types.is_string(arrow_type):
        # Redshift's VARCHAR defaults to 256 bytes; descriptions are longer.
        return "VARCHAR(65535)" if dialect == "redshift" else "VARCHAR"
    raise TypeError(f"no SQL type for {arrow_type}")


def target_columns() -> list[str]:
    return list(WAREHOUSE_ROW_SCHEMA.names)


def create_target_sql(dialect: Dialect, table: str = TARGET_TABLE, temp: bool = False) -> str:
    lines = [
        f"{f.name} {_sql_type(f.type, dialect)}" + ("" if f.nullable else " NOT NULL")
        for f in WAREHOUSE_ROW_SCHEMA
    ]
    if not temp:
        lines.append("PRIMARY KEY (event_id)")
    kind = "TEMP TABLE" if temp else "TABLE IF NOT EXISTS"
    return f"CREATE {kind} {table} (\n  " + ",\n  ".join(lines) + "\n)"


def create_loads_sql(dialect: Dialect) -> str:
    text = "VARCHAR(65535)" if dialect == "redshift" else "VARCHAR"
    return (
        f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (\n"
        f"  load_id VARCHAR(64) NOT NULL PRIMARY KEY,\n"
        "  started_at TIMESTAMPTZ NOT NULL,\n"
        "  finished_at TIMESTAMPTZ NOT NULL,\n"
        "  watermark_before TIMESTAMPTZ,\n"
        "  watermark_after TIMESTAMPTZ,\n"
        "  documents_read BIGINT NOT NULL,\n"
        "  rows_inserted BIGINT NOT NULL,\n"
        "  rows_skipped BIGINT NOT NULL,\n"
        f"  staging_files {text} NOT NULL\n"
        ")"
    )


def merge_sql(dialect: Dialect, staging: str) -> str:
    """Insert staged rows whose event_id the target does not hold yet (idempotent)."""
    cols = ", ".join(target_columns())
    select = ", ".join(f"s.{c}" for c in target_columns())
    if dialect == "postgres":
        # ON CONFLICT also covers a concurrent load committing the same event first.
        return (
            f"INSERT INTO {TARGET_TABLE} ({cols}) SELECT {select} FROM {staging} s "
            "ON CONFLICT (event_id) DO NOTHING"
        )
    # Redshift does not enforce keys; DuckDB runs one writer at a time: an anti-join suffices.
    return (
        f"INSERT INTO {TARGET_TABLE} ({cols}) SELECT {select} FROM {staging} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {TARGET_TABLE} t WHERE t.event_id = s.event_id)"
    )


def insert_load_sql(placeholder: str) -> str:
    """``placeholder``: the driver's mark ('%s', '?'), or '$' for numbered ones ($1, $2, ...)."""
    count = len(LOADS_COLUMNS)
    marks = ", ".join(f"${i}" if placeholder == "$" else placeholder for i in range(1, count + 1))
    return f"INSERT INTO {LOADS_TABLE} ({', '.join(LOADS_COLUMNS)}) VALUES ({marks})"


def watermark_sql() -> str:
    return f"SELECT MAX(watermark_after) FROM {LOADS_TABLE}"
