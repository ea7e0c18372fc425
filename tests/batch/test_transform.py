"""The merge with the exercise CSV is a left join by title that shares the reference's strings,
and what it stages reads back as the warehouse's schema, value for value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from fitray.batch.transform import merge_with_reference, to_warehouse_rows
from fitray.schema import STORED_WORKOUT_SCHEMA, WAREHOUSE_ROW_SCHEMA
from fitray.staging import open_staging

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
REFERENCE = pa.table(
    {
        "title": ["Plank", "Crunch", "Rope Jumping"],
        "description": ["Hold it.", None, ""],
        "exercise_type": ["Strength", "Strength", "Cardio"],
        "body_part": ["Abdominals", "Abdominals", "Quadriceps"],
        "equipment": ["Body Only", None, "Other"],
        "level": ["Beginner", "Intermediate", "Expert"],
        "rating": [8.5, None, 0.0],
        "rating_desc": ["Average", None, None],
    }
)


def documents(titles: list[str | None], chunks: int = 1) -> pa.Table:
    n = len(titles)
    columns: dict[str, Any] = {f.name: pa.nulls(n, f.type) for f in STORED_WORKOUT_SCHEMA}
    columns.update(
        event_id=pa.array([f"e{i:03d}" for i in range(n)]),
        title=pa.array(titles, pa.string()),
        weight_lb=pa.array([150.0] * n),
        duration_min=pa.array([30.0] * n),
        total_kcal=pa.array([300.0] * n),
    )
    table = pa.table(columns).cast(STORED_WORKOUT_SCHEMA)
    size = max(1, -(-n // chunks))
    return pa.Table.from_batches(table.to_batches(max_chunksize=size), STORED_WORKOUT_SCHEMA)


def plain(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with dictionary columns decoded: what a reader sees."""
    return table.to_pylist()


titles = st.lists(
    st.one_of(st.none(), st.sampled_from(["Plank", " Crunch ", "Rope Jumping", "Nope", ""])),
    max_size=40,
)


@settings(max_examples=60, deadline=None)  # a busy machine: no timing here
@given(titles, st.integers(1, 4))
def test_merge_is_the_left_join_on_the_trimmed_title(names: list[str | None], chunks: int) -> None:
    docs = documents(names, chunks)
    merged = merge_with_reference(docs, REFERENCE)
    trimmed = docs.set_column(1, "title", pc.utf8_trim_whitespace(docs["title"]))
    expected = trimmed.join(REFERENCE, keys="title", join_type="left outer").sort_by("event_id")
    assert merged.column_names == expected.column_names
    assert plain(merged) == plain(expected)  # same rows, same order as the documents
    assert merged["event_id"].to_pylist() == docs["event_id"].to_pylist()


def test_metadata_is_shared_not_copied() -> None:
    merged = merge_with_reference(documents(["Plank"] * 1000), REFERENCE)
    kind = merged["exercise_type"]
    assert pa.types.is_dictionary(kind.type)  # 1,000 small indices over the 3 reference values
    assert all(c.dictionary.equals(REFERENCE["exercise_type"].chunk(0)) for c in kind.chunks)
    # a null inside the reference nulls the index (Parquet refuses nulls inside a dictionary)
    assert merge_with_reference(documents(["Crunch"]), REFERENCE)["description"].null_count == 1


def test_staged_rows_read_back_as_the_warehouse_schema(tmp_path: Path, stack: Any) -> None:
    merged = merge_with_reference(documents(["Plank", "Nope", " Crunch"], chunks=2), REFERENCE)
    rows = to_warehouse_rows(merged, "L1", NOW)
    assert rows.column_names == WAREHOUSE_ROW_SCHEMA.names
    assert pa.types.is_dictionary(rows.schema.field("description").type)  # staged encoded
    staging = open_staging(stack.model_copy(update={"staging_url": str(tmp_path)}))
    back = staging.read([staging.write(rows, "L1", 0)])
    assert back.schema == WAREHOUSE_ROW_SCHEMA
    assert back.to_pylist() == rows.to_pylist()
    assert back["level_weighted_kcal"].to_pylist() == [300.0, None, 390.0]  # 1.0, unknown, 1.3
