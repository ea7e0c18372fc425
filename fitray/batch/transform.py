"""Merge with the exercise metadata and shape warehouse rows (pure Arrow, no I/O)."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from fitray.batch.metrics import DERIVED_METRICS, add_derived_metrics, finite_or_null
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
    """Left join on title: every document stays, unknown titles get null metadata.

    The reference has one row per title (``parse_exercises``), so the join is a lookup: each
    document's row in the reference (one hash lookup per document), then each metadata column
    as a dictionary array over the reference's own column -- its strings are shared, never
    copied per document (descriptions average ~320 bytes: ~320 MB a million documents). The
    Parquet writer keeps them dictionary-encoded; the warehouse load reads plain strings back.
    """
    titles = pc.utf8_trim_whitespace(documents["title"])
    reference = reference.combine_chunks()
    rows = pc.index_in(titles, value_set=reference["title"])  # int32, null: no such title
    table = documents.set_column(documents.schema.get_field_index("title"), "title", titles)
    for field in reference.schema:
        if field.name != "title":
            column = reference[field.name].combine_chunks()
            table = table.append_column(field.name, _looked_up(column, rows))
    return table


def _looked_up(column: pa.Array, rows: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return pc.take(column, rows)  # numbers: 8 bytes a row, copied
    if column.null_count:  # Parquet takes no null inside a dictionary: null the index instead
        rows = pc.if_else(pc.take(pc.is_valid(column), rows), rows, pa.scalar(None, pa.int32()))
        column = column.fill_null("")  # never referenced
    kind = pa.dictionary(pa.int32(), column.type)
    chunks = [pa.DictionaryArray.from_arrays(chunk, column) for chunk in rows.chunks]
    return pa.chunked_array(chunks, type=kind)


def to_warehouse_rows(merged: pa.Table, load_id: str, extracted_at: datetime) -> pa.Table:
    """Merged documents -> :data:`WAREHOUSE_ROW_SCHEMA`, metrics derived, no NaN anywhere.

    Joined metadata stays dictionary-encoded (the same values, see :func:`merge_with_reference`);
    every other column has the schema's type."""
    table = merged.rename_columns([WAREHOUSE_RENAMES.get(n, n) for n in merged.column_names])
    table = add_derived_metrics(table)
    n = table.num_rows
    columns, fields = [], []
    for field in WAREHOUSE_ROW_SCHEMA:
        if field.name == "load_id":
            column = pa.repeat(pa.scalar(load_id, pa.string()), n)
        elif field.name == "extracted_at":
            column = pa.repeat(pa.scalar(extracted_at, field.type), n)
        elif field.name in DERIVED_METRICS:
            column = table[field.name]  # finite or null already
        elif pa.types.is_floating(field.type):
            column = finite_or_null(table[field.name])
        elif _encodes(table[field.name].type, field.type):
            column = table[field.name]
        else:
            column = table[field.name].cast(field.type)
        columns.append(column)
        fields.append(field.with_type(column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, WAREHOUSE_ROW_SCHEMA.metadata))


def _encodes(kind: pa.DataType, value_type: pa.DataType) -> bool:
    return pa.types.is_dictionary(kind) and kind.value_type == value_type
