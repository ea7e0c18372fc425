"""The load on every warehouse runnable here: same tests for DuckDB and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from pydantic import SecretStr

from fitray.batch.transform import to_warehouse_rows
from fitray.failpoints import InjectedFault
from fitray.schema import WAREHOUSE_ROW_SCHEMA
from fitray.staging import open_staging
from fitray.warehouse import LoadRecord, WarehouseError, WarehouseUnavailable, open_warehouse
from tests.warehouse.conftest import query

ORIGINAL_19 = (
    "event_id, title, weight, duration, calories_per_hour_aprox, total_calories_aprox, "
    "description, exercise_type, body_part, equipment, level, rating, rating_desc, "
    "kcal_per_minute, kcal_per_lb, enjoyment_weighted_kcal, level_weighted_kcal, "
    "kcal_per_hour_per_kg, timestamp"
)
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def rows(ids: list[str], load_id: str) -> pa.Table:
    n = len(ids)
    merged = pa.table(
        {
            "event_id": ids,
            "title": ["Row"] * n,
            "weight": [150.0] * n,
            "duration": ([0.0] + [30.0] * n)[:n],  # the first row has no per-minute rate
            "calories_per_hour_aprox": [600.0] * n,
            "total_calories_aprox": [300.0] * n,
            "description": [None] * n,
            "exercise_type": ["Strength"] * n,
            "body_part": [""] * n,  # an empty string stays an empty string
            "equipment": [None] * n,
            "level": ["Expert"] * n,
            "rating": ([None] + [8.0] * n)[:n],
            "rating_desc": [None] * n,
            "timestamp": pa.array([NOW] * n, pa.timestamp("ms", tz="UTC")),
        }
    )
    return to_warehouse_rows(merged, load_id, NOW)


def stage_and_record(settings: Any, ids: list[str], load_id: str) -> LoadRecord:
    staging = open_staging(settings)
    parts = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
    files = [staging.write(rows(p, load_id), load_id, i) for i, p in enumerate(parts) if p]
    return LoadRecord(load_id, NOW, None, NOW, len(ids), tuple(files))


def test_load_inserts_rows_and_records_the_load(backend: tuple[str, Any]) -> None:
    name, settings = backend
    warehouse = open_warehouse(settings, name)
    assert warehouse.read_watermark() is None
    result = warehouse.load(
        open_staging(settings), stage_and_record(settings, ["a", "b", "c"], "L1")
    )
    assert (result.rows_inserted, result.rows_skipped) == (3, 0)
    got = query(name, settings, f"SELECT {ORIGINAL_19} FROM exercises_enriched ORDER BY event_id")
    assert [r[0] for r in got] == ["a", "b", "c"]
    first = dict(zip(ORIGINAL_19.split(", "), got[0], strict=True))
    assert first["kcal_per_minute"] is None and first["kcal_per_hour_per_kg"] is None
    assert first["enjoyment_weighted_kcal"] is None  # null rating, null metric (never NaN)
    assert first["level_weighted_kcal"] == pytest.approx(480.0)
    assert first["description"] is None and first["body_part"] == ""
    assert warehouse.read_watermark() == NOW
    loads = query(
        name, settings, "SELECT load_id, documents_read, rows_inserted, rows_skipped FROM loads"
    )
    assert loads == [("L1", 3, 3, 0)]


def test_no_nan_reaches_the_warehouse(backend: tuple[str, Any]) -> None:
    name, settings = backend
    open_warehouse(settings, name).load(
        open_staging(settings), stage_and_record(settings, ["a", "b"], "L1")
    )
    values = query(
        name, settings, "SELECT kcal_per_minute, enjoyment_weighted_kcal FROM exercises_enriched"
    )
    flat = [v for row in values for v in row]
    assert None in flat
    assert all(v is None or math.isfinite(v) for v in flat)


def test_reloading_the_same_rows_inserts_nothing(backend: tuple[str, Any]) -> None:
    name, settings = backend
    warehouse = open_warehouse(settings, name)
    warehouse.load(open_staging(settings), stage_and_record(settings, ["a", "b"], "L1"))
    again = warehouse.load(
        open_staging(settings), stage_and_record(settings, ["a", "b", "c"], "L2")
    )
    assert (again.rows_inserted, again.rows_skipped) == (1, 2)
    assert query(
        name, settings, "SELECT count(*), count(DISTINCT event_id) FROM exercises_enriched"
    ) == [(3, 3)]
    loaded = query(name, settings, "SELECT load_id FROM exercises_enriched WHERE event_id = 'a'")
    assert loaded == [("L1",)]  # the first load keeps the row


def test_crash_before_commit_leaves_the_warehouse_as_it_was(backend: tuple[str, Any]) -> None:
    name, settings = backend
    open_warehouse(settings, name).load(
        open_staging(settings), stage_and_record(settings, ["a"], "L1")
    )

    drill = settings.model_copy(update={"failpoints": frozenset({"warehouse.before_commit"})})
    crashing = open_warehouse(drill, name)
    with pytest.raises(InjectedFault, match=r"warehouse\.before_commit"):
        crashing.load(open_staging(settings), stage_and_record(settings, ["b", "c"], "L2"))
    assert query(name, settings, "SELECT event_id FROM exercises_enriched") == [("a",)]
    assert query(name, settings, "SELECT load_id FROM loads") == [("L1",)]


def test_target_matches_the_schema_module(backend: tuple[str, Any]) -> None:
    name, settings = backend
    open_warehouse(settings, name).load(
        open_staging(settings), stage_and_record(settings, ["a"], "L1")
    )
    columns = query(
        name,
        settings,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'exercises_enriched' ORDER BY ordinal_position",
    )
    assert [c[0] for c in columns] == WAREHOUSE_ROW_SCHEMA.names


def test_values_arrive_exactly_as_staged(backend: tuple[str, Any]) -> None:
    """Binary COPY (PostgreSQL) and Arrow (DuckDB): no text rendering to round a float, move a
    millisecond or mangle a string the CSV way (commas, quotes, newlines, non-ASCII, '')."""
    name, settings = backend
    table = rows(["a", "b"], "L1")
    awkward = ['Row, "quoted"\nline two', "Übung ✓"]
    table = table.set_column(table.schema.get_field_index("title"), "title", pa.array(awkward))
    exact = [0.1 + 0.2, 1 / 3]
    table = table.set_column(table.schema.get_field_index("weight"), "weight", pa.array(exact))
    stamps = pa.array([NOW.replace(microsecond=123_000), NOW], pa.timestamp("ms", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps)
    staging = open_staging(settings)
    record = LoadRecord("L1", NOW, None, NOW, 2, (staging.write(table, "L1", 0),))
    open_warehouse(settings, name).load(staging, record)
    got = query(
        name,
        settings,
        'SELECT title, weight, "timestamp" FROM exercises_enriched ORDER BY event_id',
    )
    assert [r[0] for r in got] == awkward
    assert [r[1] for r in got] == exact  # bit for bit, not approximately
    assert [r[2].astimezone(UTC) for r in got] == stamps.to_pylist()


def test_unreachable_postgres_is_one_line_without_the_password(stack: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens there once closed
    settings = stack.model_copy(
        update={"postgres_port": port, "postgres_password": SecretStr("pw-K9z-never-shown")}
    )
    warehouse = open_warehouse(settings, "postgres")
    with pytest.raises(WarehouseUnavailable) as raised:
        warehouse.read_watermark()
    assert "not reachable" in str(raised.value) and "\n" not in str(raised.value)
    assert "pw-K9z-never-shown" not in str(raised.value) + repr(warehouse)


def test_a_load_postgres_refuses_names_the_load_and_keeps_the_warehouse(
    batch_settings: Any, pg_database: str
) -> None:
    """PostgreSQL text cannot hold a NUL character: the server refuses the COPY."""
    name, dbname = "postgres", pg_database.rsplit("dbname=", 1)[1]
    settings = batch_settings.model_copy(update={"postgres_database": dbname})
    table = rows(["a", "b"], "L-bad")
    table = table.set_column(1, "title", pa.array(["fine", "nul \x00 inside"]))
    staging = open_staging(settings)
    record = LoadRecord("L-bad", NOW, None, NOW, 2, (staging.write(table, "L-bad", 0),))
    with pytest.raises(WarehouseError, match=r"^PostgreSQL load L-bad: ") as raised:
        open_warehouse(settings, name).load(staging, record)
    assert "\n" not in str(raised.value)
    assert query(name, settings, "SELECT count(*) FROM exercises_enriched") == [(0,)]
    assert query(name, settings, "SELECT count(*) FROM loads") == [(0,)]
