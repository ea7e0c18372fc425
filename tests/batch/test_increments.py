"""Increments lose nothing: late writers, same-second documents, crashes mid-load.

Each test runs the batch's one definition -- the Prefect flow, its tasks on the stack's Ray --
against the real document store, object store and each warehouse runnable here, reading the
increment by ``stored_at`` range (each warehouse) and by minute (``stored_minute``, what
FerretDB on PostgreSQL pushes down; forced here, so it runs on whatever store the stack has).
Times are recent: a read by minute spans the watermark less the overlap to now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fitray.batch.extract import stored_minute
from fitray.config import Settings
from fitray.failpoints import InjectedFault
from flows.etl import run_batch_flow as run_batch
from tests.warehouse.conftest import make_doc, query, seed

BASE_TIME = stored_minute(datetime.now(UTC)) - timedelta(hours=1)
RUNS = [("duckdb", "stored_at"), ("postgres", "stored_at"), ("duckdb", "stored_minute")]


@pytest.fixture(params=RUNS, ids=[f"{w}-{r}" for w, r in RUNS])
def backend(request: pytest.FixtureRequest, batch_settings: Settings) -> tuple[str, Settings]:
    """(warehouse, settings) of a run reading by the parameter's field."""
    warehouse, read_by = request.param
    settings = batch_settings.model_copy(update={"batch_read": read_by})
    if warehouse == "postgres":
        dbname = request.getfixturevalue("pg_database").rsplit("dbname=", 1)[1]
        settings = settings.model_copy(update={"postgres_database": dbname})
    return warehouse, settings


def warehouse_ids(name: str, settings: Any) -> list[str]:
    rows = query(name, settings, "SELECT event_id FROM exercises_enriched ORDER BY event_id")
    return [r[0] for r in rows]


def test_first_run_loads_everything_and_counts_reconcile(
    backend: tuple[str, Any], mongo_db: Any
) -> None:
    name, settings = backend
    seed(mongo_db, [make_doc(f"e{i:03d}", BASE_TIME + timedelta(seconds=i)) for i in range(100)])
    summary = run_batch(settings, name)
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (100, 100, 0)
    assert len(summary.staging_files) == 3  # 100 rows, 40 per task, at most 3 tasks
    assert summary.watermark_before is None
    assert summary.watermark_after == BASE_TIME + timedelta(seconds=99)
    assert not Path(settings.staging_location, summary.load_id).exists()  # purged
    # the extract keeps the increment's read on an index (MongoDB's stored_at; FerretDB's
    # stored_minute with the stack's companion on PostgreSQL)
    assert f"{settings.batch_read}_1" in mongo_db["exercises_calories"].index_information()
    again = run_batch(settings, name)  # re-reads the overlap, loads nothing twice
    assert (again.documents_read, again.rows_inserted, again.rows_skipped) == (100, 0, 100)
    assert again.watermark_before == again.watermark_after == summary.watermark_after
    loads = query(name, settings, "SELECT documents_read, rows_inserted, rows_skipped FROM loads")
    assert sorted(loads) == [(100, 0, 100), (100, 100, 0)]
    assert len(warehouse_ids(name, settings)) == 100


def test_late_document_with_an_older_stored_at_is_loaded(
    backend: tuple[str, Any], mongo_db: Any
) -> None:
    name, settings = backend
    seed(mongo_db, [make_doc("new", BASE_TIME + timedelta(minutes=5))])
    run_batch(settings, name)
    # A slower consumer commits a document it stored (stamped) before the last watermark.
    seed(mongo_db, [make_doc("late", BASE_TIME)])
    summary = run_batch(settings, name)
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (2, 1, 1)
    assert summary.watermark_after == BASE_TIME + timedelta(minutes=5)
    assert warehouse_ids(name, settings) == ["late", "new"]


def test_same_second_documents_split_across_runs(backend: tuple[str, Any], mongo_db: Any) -> None:
    name, settings = backend
    same_second = BASE_TIME.replace(microsecond=0)
    seed(mongo_db, [make_doc("a", same_second), make_doc("b", same_second)])
    run_batch(settings, name)
    seed(mongo_db, [make_doc("c", same_second), make_doc("d", same_second)])
    summary = run_batch(settings, name)
    assert (summary.rows_inserted, summary.rows_skipped) == (2, 2)
    assert warehouse_ids(name, settings) == ["a", "b", "c", "d"]


def test_crash_between_staging_and_commit_then_rerun_loads_exactly_once(
    backend: tuple[str, Any], mongo_db: Any
) -> None:
    name, settings = backend
    seed(mongo_db, [make_doc(f"e{i}", BASE_TIME) for i in range(50)])
    drill = settings.model_copy(update={"failpoints": frozenset({"warehouse.before_commit"})})
    with pytest.raises(InjectedFault, match=r"warehouse\.before_commit"):
        run_batch(drill, name)
    assert warehouse_ids(name, settings) == []
    assert query(name, settings, "SELECT count(*) FROM loads") == [(0,)]
    seed(mongo_db, [make_doc("after-crash", BASE_TIME)])
    summary = run_batch(settings, name)
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (51, 51, 0)
    assert len(warehouse_ids(name, settings)) == 51


def test_overlap_is_the_bound_on_lateness_and_on_re_reading(
    backend: tuple[str, Any], mongo_db: Any
) -> None:
    """The documented limit: a document visible later than the overlap after its stored_at
    is not re-read; everything inside the overlap is, and only that much is re-read."""
    name, settings = backend
    settings = settings.model_copy(update={"batch_overlap_s": 60.0})
    seed(mongo_db, [make_doc(f"old{i}", BASE_TIME) for i in range(5)])
    seed(mongo_db, [make_doc("recent", BASE_TIME + timedelta(minutes=10))])
    run_batch(settings, name)
    seed(mongo_db, [make_doc("late-inside", BASE_TIME + timedelta(minutes=9, seconds=30))])
    seed(mongo_db, [make_doc("late-outside", BASE_TIME + timedelta(minutes=8))])
    summary = run_batch(settings, name)
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (2, 1, 1)
    assert "late-inside" in warehouse_ids(name, settings)
    assert "late-outside" not in warehouse_ids(name, settings)


def test_documents_with_missing_fields_load_with_nulls(
    backend: tuple[str, Any], mongo_db: Any
) -> None:
    name, settings = backend
    doc = make_doc("partial", BASE_TIME, title="Dumbbell Bench Press", duration_min=0.0)
    del doc["total_kcal"]
    seed(mongo_db, [doc, make_doc("unknown-title", BASE_TIME, title="No such exercise")])
    run_batch(settings, name)
    rows = query(
        name,
        settings,
        "SELECT event_id, kcal_per_minute, level, level_weighted_kcal FROM exercises_enriched "
        "ORDER BY event_id",
    )
    # the metadata joins (Intermediate) but a missing total or a zero duration gives null
    # metrics, never a made-up 0; an unknown title keeps its own metrics and null metadata
    assert rows[0] == ("partial", None, "Intermediate", None)
    assert rows[1] == ("unknown-title", pytest.approx(236.0 / 60), None, None)
