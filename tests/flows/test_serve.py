"""`fitray batch --serve`: a scheduled deployment on the stack's Prefect server, and a stop
that lets the running load finish instead of cancelling it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fitray.config import Settings
from fitray.stack.process import wait_until
from tests.warehouse.conftest import BASE_TIME, make_doc, seed

pytestmark = pytest.mark.slow


def api(settings: Settings, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{settings.prefect_api_url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def deployments_named(settings: Settings, name: str) -> list[dict[str, Any]]:
    return list(api(settings, "/deployments/filter", {"deployments": {"name": {"any_": [name]}}}))


def state_of(settings: Settings, flow_run_id: str) -> str:
    return str(api(settings, f"/flow_runs/{flow_run_id}", None)["state_type"])


def test_serve_registers_the_deployment_and_sigterm_lets_the_running_load_finish(
    stack: Settings, mongo_db: Any, tmp_path: Path
) -> None:
    seed(mongo_db, [make_doc(f"s{i:05d}", BASE_TIME) for i in range(500)])
    interval_s = 777  # unusual, so the deployment is this test's own
    name = f"fitray-batch-etl-every-{interval_s}s"
    env = {
        **os.environ,
        "FITRAY_BATCH_INTERVAL_S": str(interval_s),
        "FITRAY_MONGO_DATABASE": mongo_db.name,
        "FITRAY_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "FITRAY_STAGING_URL": str(tmp_path / "staging"),
        "FITRAY_REPORT_DIR": str(tmp_path / "report"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "COLUMNS": "200",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fitray", "batch", "--serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert wait_until(lambda: bool(deployments_named(stack, name)), 90, interval_s=1.0,
                          raise_on_timeout=False), f"no deployment {name!r} registered"  # fmt: skip
        (deployment,) = deployments_named(stack, name)
        assert [s["schedule"].get("interval") for s in deployment["schedules"]] == [interval_s]
        assert deployment["parameters"] == {"backend": None}
        run = api(stack, f"/deployments/{deployment['id']}/create_flow_run", {})
        assert wait_until(lambda: state_of(stack, run["id"]) == "RUNNING", 90, interval_s=0.2,
                          raise_on_timeout=False), "the served run never started"  # fmt: skip
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=180)[0].decode(errors="replace")
    finally:
        server.kill()
    assert server.returncode == 143, output
    assert state_of(stack, run["id"]) == "COMPLETED", output  # drained, not cancelled
    assert "stopped by" in output and "SIGTERM" in output and "runs completed" in output
    assert "Traceback" not in output, output
