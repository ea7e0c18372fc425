"""Batch/warehouse fixtures: settings isolated per test, and the matrix over warehouses.

``backend`` runs a test once per warehouse that can run here (DuckDB file, PostgreSQL);
Redshift is tested through its SQL text (tests/warehouse/test_redshift.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fitray.config import Settings
from fitray.stream.sink import stamp

__all__ = ["backend", "batch_settings", "make_doc", "seed"]

BASE_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
TITLES = ["Barbell Deadlift", "Dumbbell Bench Press", "Kettlebell swing", "Not a real exercise"]


def make_doc(event_id: str, stored_at: datetime = BASE_TIME, **fields: Any) -> dict[str, Any]:
    """A document as the streaming consumer stores it in ``exercises_calories``."""
    index = sum(map(ord, event_id))
    doc = {
        "_id": event_id,
        "event_id": event_id,
        "title": TITLES[index % len(TITLES)],
        "weight_lb": 120.0 + index % 80,
        "duration_min": 10.0 + index % 50,
        "event_time": stored_at - timedelta(seconds=30),
        "activity": "Weight lifting, light workout",
        "resolution": "exact",
        "kcal_per_hour": 236.0,
        "total_kcal": 236.0 * (10.0 + index % 50) / 60,
        "provider": "local",
        "fetched_at": stored_at - timedelta(seconds=5),
        "attempts": 1,
        "fallback_used": False,
    }
    stamp(doc, stored_at)  # stored_at and stored_minute, as the consumer's sink writes them
    doc.update(fields)
    return doc


def seed(db: Any, docs: list[dict[str, Any]]) -> None:
    db["exercises_calories"].insert_many(docs)


@pytest.fixture
def batch_settings(stack: Settings, mongo_db: Any, s3_bucket: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's own database, bucket, DuckDB file and staging dir."""
    return stack.model_copy(
        update={
            "mongo_database": mongo_db.name,
            "s3_bucket": s3_bucket,
            "duckdb_path": tmp_path / "warehouse.duckdb",
            "staging_url": str(tmp_path / "staging"),
            "report_dir": tmp_path / "report",  # the flow's last task writes the report here
            "batch_rows": 40,
            "batch_max_tasks": 3,
        }
    )


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, batch_settings: Settings) -> tuple[str, Settings]:
    """(backend name, settings) for each warehouse runnable here."""
    if request.param == "postgres":
        conninfo = request.getfixturevalue("pg_database")
        dbname = conninfo.rsplit("dbname=", 1)[1]
        return "postgres", batch_settings.model_copy(update={"postgres_database": dbname})
    return "duckdb", batch_settings


def query(name: str, settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run directly on the warehouse (the way a dashboard would)."""
    if name == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_file), read_only=True) as con:
            return con.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(settings.postgres_conninfo) as conn:
        return conn.execute(sql).fetchall()
