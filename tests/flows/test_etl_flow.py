"""The batch flow on the stack's Prefect server and Ray head: every task of its own flow run
completes, on Ray workers; a re-run loads nothing twice; ``--local`` runs the same flow."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import pytest

from fitray.clients.ray import connect_ray
from fitray.config import Settings
from flows.etl import run_batch_flow
from tests.stream.conftest import wait_for
from tests.warehouse.conftest import BASE_TIME, make_doc, query, seed

pytestmark = pytest.mark.slow
TASKS = {
    "reference CSV", "watermark", "new documents", "transform", "load", "purge staged",
    "refresh report",
}  # fmt: skip


def task_runs_of(settings: Settings, flow_run_id: str) -> dict[str, list[str]]:
    """Task name -> final state types of the task runs of one flow run, from Prefect's API."""
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    request = urllib.request.Request(
        f"{settings.prefect_api_url}/task_runs/filter",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        runs = json.load(response)
    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run["name"].rsplit("-", 1)[0], []).append(run["state_type"])
    return states


def ray_tasks_of_this_driver() -> list[Any]:
    import ray
    from ray.util.state import list_tasks

    job = ray.get_runtime_context().get_job_id()
    return list_tasks(filters=[("job_id", "=", job)], limit=10_000, raise_on_missing_output=False)


def test_flow_on_ray_completes_every_task_and_reruns_idempotently(
    batch_settings: Settings, mongo_db: Any
) -> None:
    seed(mongo_db, [make_doc(f"e{i:03d}", BASE_TIME) for i in range(120)])
    settings = batch_settings.model_copy(update={"batch_rows": 50, "batch_max_tasks": 2})
    connect_ray(settings)  # the flow then uses this driver's connection (its job id, below)
    summary = run_batch_flow(settings, "duckdb")
    assert (summary.documents_read, summary.rows_inserted) == (120, 120)
    assert len(summary.staging_files) == 2  # bounded: 2 tasks of 60, not 3 of 50
    assert summary.nodes, "the slices ran on no Ray node"
    assert {"merge with CSV", "derived metrics", "stage", "load"} <= set(summary.step_seconds)

    assert summary.flow_run_id is not None
    expected = {name: (["COMPLETED", "COMPLETED"] if name == "transform" else ["COMPLETED"])
                for name in TASKS}  # fmt: skip
    wait_for(
        lambda: task_runs_of(settings, summary.flow_run_id or "") == expected,
        30,
        f"the task runs of flow run {summary.flow_run_id} to be {expected}",
    )
    # Ray's task events arrive asynchronously too
    finished = wait_for(
        lambda: (
            (found := [t for t in ray_tasks_of_this_driver() if t.name in TASKS])
            and {t.name for t in found} == TASKS
            and found
        ),
        30,
        f"Ray to report tasks {sorted(TASKS)}",
    )
    assert all(t.worker_pid != os.getpid() for t in finished), "a task ran in the driver"

    seed(mongo_db, [make_doc("late", BASE_TIME)])
    again = run_batch_flow(settings, "duckdb")
    # the overlap re-reads the first 120 (skipped by the merge) and finds the late one
    assert (again.documents_read, again.rows_inserted, again.rows_skipped) == (121, 1, 120)
    count = query("duckdb", settings, "SELECT count(DISTINCT load_id), count(*) FROM loads")
    assert count == [(2, 2)]
    rows = query(
        "duckdb", settings, "SELECT count(DISTINCT event_id), count(*) FROM exercises_enriched"
    )
    assert rows == [(121, 121)]


def test_local_runs_the_same_flow_in_this_process(batch_settings: Settings, mongo_db: Any) -> None:
    seed(mongo_db, [make_doc(f"l{i:03d}", BASE_TIME) for i in range(90)])
    summary = run_batch_flow(batch_settings, "duckdb", local=True)
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (90, 90, 0)
    assert len(summary.staging_files) == 3
    assert query("duckdb", batch_settings, "SELECT count(*) FROM exercises_enriched") == [(90,)]
