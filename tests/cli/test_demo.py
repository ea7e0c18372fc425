"""The main job as a user runs it: `fitray demo` end to end on the local stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fitray.config import Settings
from fitray.stack.ray import ray_auth_token

pytestmark = pytest.mark.slow


def test_demo_streams_loads_and_says_where_everything_lives(
    stack: Settings, mongo_db: Any, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "FITRAY_MONGO_DATABASE": mongo_db.name,  # this test's own database and warehouse
        "FITRAY_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "FITRAY_STAGING_URL": str(tmp_path / "staging"),
        "FITRAY_CALORIE_RATE_LIMIT_PER_S": "2000",
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "fitray", "demo", "--count", "300", "--seed", "42"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert mongo_db["exercises_calories"].count_documents({}) == 300
    expected_lines = ("stored", "rows loaded", "exercises_enriched", "Ray dashboard", "Prefect UI",
                      "get-auth-token", "fitray dashboard")  # fmt: skip
    token = ray_auth_token()
    assert token is None or token not in output  # how to get the token, never the token
    for expected in expected_lines:
        assert expected in output
    assert "Traceback" not in output
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from exercises_enriched").fetchone() == (300,)
