"""The stream and the batch flow as Ray jobs, submitted to the running head through the Jobs
API with the project as the job's working_dir and every setting in the job's environment (as
deploy/ray/README.md shows); the stores are the witnesses of what each job did."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ray.job_submission import JobStatus, JobSubmissionClient

from fitray.config import PROJECT_ROOT, Settings
from fitray.stack.ray import ray_auth_token
from tests.stream.conftest import expected_ids
from tests.warehouse.conftest import query

pytestmark = pytest.mark.slow


@pytest.fixture
def jobs(stack: Settings) -> JobSubmissionClient:
    token = ray_auth_token()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return JobSubmissionClient(stack.ray_dashboard_url, headers=headers)


def run_job(client: JobSubmissionClient, entrypoint: list[str], env: dict[str, str]) -> str:
    """Submit, wait for a final state (bounded), return the job's logs; fail unless SUCCEEDED."""
    job_id = client.submit_job(
        entrypoint=" ".join(entrypoint),
        # Ray leaves out what .gitignore names (.venv, .stack, caches): the project is a few MB
        runtime_env={"working_dir": str(PROJECT_ROOT), "env_vars": env},
        submission_id=f"fitray-test-{uuid.uuid4().hex[:8]}",
    )
    deadline, status = time.monotonic() + 240, client.get_job_status(job_id)
    while not status.is_terminal() and time.monotonic() < deadline:
        time.sleep(0.5)
        status = client.get_job_status(job_id)
    logs = client.get_job_logs(job_id)
    if not status.is_terminal():
        client.stop_job(job_id)
    assert status == JobStatus.SUCCEEDED, f"job {job_id} ended {status}:\n{logs[-3000:]}"
    return logs


def test_stream_then_batch_as_ray_jobs(
    jobs: JobSubmissionClient,
    stack: Settings,
    kafka_topics: Callable[..., str],
    mongo_db: Any,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    count, python = 600, sys.executable  # the head's Python: the job runs on the head
    env = {
        "FITRAY_KAFKA_ENRICHED_TOPIC": kafka_topics("enriched", partitions=3),
        "FITRAY_KAFKA_DEAD_LETTER_TOPIC": kafka_topics("dead-letter", partitions=1),
        "FITRAY_KAFKA_PARTITIONS": "3",
        "FITRAY_STREAM_CONSUMER_GROUP": f"test-job-{uuid.uuid4().hex[:8]}",
        "FITRAY_MONGO_DATABASE": mongo_db.name,
        "FITRAY_CALORIE_RATE_LIMIT_PER_S": "2000",
        "FITRAY_S3_BUCKET": s3_bucket,
        "FITRAY_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "FITRAY_STAGING_URL": str(tmp_path / "staging"),
    }
    stream = [python, "-m", "fitray", "stream", "run", "--count", str(count), "--seed", "83"]
    run_job(jobs, [*stream, "--json"], env)
    stored = [d["_id"] for d in mongo_db[stack.stream_collection].find({}, {"_id": 1})]
    assert len(stored) == count and set(stored) == expected_ids(83, count)

    logs = run_job(jobs, [python, "-m", "fitray", "batch", "-w", "duckdb"], env)
    warehouse = stack.model_copy(update={"duckdb_path": tmp_path / "warehouse.duckdb"})
    rows = query("duckdb", warehouse, "select event_id from exercises_enriched")
    assert sorted(r[0] for r in rows) == sorted(expected_ids(83, count))
    assert query("duckdb", warehouse, "select rows_inserted from loads") == [(count,)]
    assert str(count) in logs  # the summary the job printed names the rows it loaded
