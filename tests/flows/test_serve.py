"""`fitray batch --serve` registers a scheduled deployment on the stack's Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fitray.config import Settings
from fitray.stack.process import wait_until

pytestmark = pytest.mark.slow


def deployments_named(settings: Settings, name: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{settings.prefect_api_url}/deployments/filter",
        data=json.dumps({"deployments": {"name": {"any_": [name]}}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return list(json.load(response))


def test_serve_registers_a_deployment_on_the_interval(stack: Settings, tmp_path: Path) -> None:
    interval_s = 777  # unusual, so the deployment is this test's own
    name = f"fitray-batch-etl-every-{interval_s}s"
    env = {
        **os.environ,
        "FITRAY_BATCH_INTERVAL_S": str(interval_s),
        "FITRAY_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),  # a run it may start stays here
        "FITRAY_STAGING_URL": str(tmp_path / "staging"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fitray", "batch", "--serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        found = wait_until(lambda: bool(deployments_named(stack, name)), 90, interval_s=1.0,
                           raise_on_timeout=False)  # fmt: skip
        assert found, f"no deployment {name!r} registered"
        (deployment,) = deployments_named(stack, name)
        intervals = [s["schedule"].get("interval") for s in deployment["schedules"]]
        assert intervals == [interval_s]
        assert deployment["parameters"] == {"backend": None}
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode(errors="replace")
    assert "Traceback" not in output, output
