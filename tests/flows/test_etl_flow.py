"""One end-to-end run of the Prefect flow on the stack's Prefect server and Ray head."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from fitray.config import Settings
from tests.warehouse.conftest import BASE_TIME, make_doc, query, seed

pytestmark = pytest.mark.slow


def flow_run_states(settings: Settings, flow_name: str) -> list[str]:
    request = urllib.request.Request(
        f"{settings.prefect_api_url}/task_runs/filter",
        data=json.dumps({"limit": 50, "sort": "EXPECTED_START_TIME_DESC"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [(r["name"], r["state_type"]) for r in json.load(response)]


def test_flow_on_ray_loads_and_reruns_idempotently(
    batch_settings: Settings, mongo_db: Any, tmp_path: Any
) -> None:
    from flows.etl import run_batch_flow

    seed(mongo_db, [make_doc(f"e{i:03d}", BASE_TIME) for i in range(120)])
    overrides = {
        "mongo_database": batch_settings.mongo_database,
        "s3_bucket": batch_settings.s3_bucket,
        "duckdb_path": str(batch_settings.duckdb_file),
        "staging_url": batch_settings.staging_location,
        "batch_rows": 50,
        "batch_max_tasks": 2,
    }
    summary = run_batch_flow("duckdb", overrides)
    assert (summary["documents_read"], summary["rows_inserted"]) == (120, 120)
    assert len(summary["staging_files"]) == 2  # bounded: 2 tasks of 60, not 3 of 50
    names = {name for name, _ in flow_run_states(batch_settings, "fitray-batch-etl")}
    assert {"reference CSV", "watermark", "new documents", "merge with CSV"} <= {
        n.rsplit("-", 1)[0] for n in names
    }
    seed(mongo_db, [make_doc("late", BASE_TIME)])
    again = run_batch_flow("duckdb", overrides)
    # the overlap re-reads the first 120 (skipped by the merge) and finds the late one
    assert (again["documents_read"], again["rows_inserted"], again["rows_skipped"]) == (121, 1, 120)
    count = query(
        "duckdb",
        batch_settings,
        "SELECT count(DISTINCT event_id), count(*) FROM exercises_enriched",
    )
    assert count == [(121, 121)]
