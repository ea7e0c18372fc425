"""Merge with the exercise metadata and shape warehouse rows (pure Arrow, no I/O)."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from fitray.batch.metrics import add_derived_metrics, finite_or_null
from fitray.schema import WAREHOUSE_ROW_SCHEMA

__all__ = ["WAREHOUSE_RENAMES", "merge_with_reference", "to_warehouse_rows"]

# Stored document field -> the original warehouse column name.
WAREHOUSE_RENAMES = {
    "weight_lb": "weight",
    "duration_min": "duration",
    "kcal_per_hour": "calories_per_hour_aprox",
    "total_kcal": "total_calories_aprox",
    "event_time": "timestamp",
}


def merge_with_reference(documents: pa.Table, reference: pa.Table) -> pa.Table:
    """Left join on title: every document stays, unknown titles get null metadata."""
    keyed = documents.set_column(
        documents.schema.get_field_index("title"),
        "title",
        pc.utf8_trim_whitespace(documents["title"]),
    )
    return keyed.join(reference, keys="title", join_type="left outer", use_threads=True)


def to_warehouse_rows(merged: pa.Table, load_id: str, extracted_at: datetime) -> pa.Table:
    """Merged documents -> :data:`WAREHOUSE_ROW_SCHEMA`, metrics derived, no NaN anywhere."""
    table = merged.rename_columns([WAREHOUSE_RENAMES.get(n, n) for n in merged.column_names])
    table = add_derived_metrics(table)
    n = table.num_rows
    columns = []
    for field in WAREHOUSE_ROW_SCHEMA:
        if field.name == "load_id":
            columns.append(pa.repeat(pa.scalar(load_id, pa.string()), n))
        elif field.name == "extracted_at":
            columns.append(pa.repeat(pa.scalar(extracted_at, field.type), n))
        elif pa.types.is_floating(field.type):
            columns.append(finite_or_null(table[field.name]))
        else:
            columns.append(table[field.name].cast(field.type))
    return pa.Table.from_arrays(columns, schema=WAREHOUSE_ROW_SCHEMA)
