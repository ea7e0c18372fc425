"""Every bench still runs: each at its ``--smoke`` size against the real stack, and writes a
record whose sides were all measured and whose ratios are numbers (what they are is not
asserted: speed belongs in the benches, not in tests)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.harness import INFO, ROOT
from fitray.config import Settings

PURE = ["metrics", "enrichment"]  # no server of the stack (enrichment starts its own API)
QUICK = ["load"]
WITH_RAY = ["stream", "batch"]  # start Ray actors or a Prefect flow run: seconds each


def run_smoke(args: list[str], out: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", *args, "--smoke", "--out", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def only_record(out: Path, name: str) -> dict[str, Any]:
    paths = list(out.glob(f"{name}-*.json"))
    assert len(paths) == 1, paths
    return json.loads(paths[0].read_text())


def check(record: dict[str, Any], name: str) -> None:
    assert record["bench"] == name and record["smoke"] is True
    assert record["command"].startswith(f"python -m bench.bench_{name} ")
    roles = {s["role"] for s in record["sides"] if s["rounds"]}
    assert "fitray" in roles and roles & {"original", "ceiling"}
    unmeasured = [s["key"] for s in record["sides"] if not s["rounds"] and s["role"] != INFO]
    assert not unmeasured, f"sides never timed: {unmeasured}"
    assert record["ratios"]
    for ratio in record["ratios"]:
        assert ratio["value"] is not None and math.isfinite(ratio["value"]) and ratio["value"] > 0


@pytest.mark.parametrize("name", PURE)
def test_bench_without_servers_runs_at_smoke_size(name: str, tmp_path: Path) -> None:
    run_smoke([f"bench.bench_{name}"], tmp_path)
    check(only_record(tmp_path, name), name)


@pytest.mark.parametrize("name", QUICK)
def test_quick_bench_runs_at_smoke_size(name: str, stack: Settings, tmp_path: Path) -> None:
    run_smoke([f"bench.bench_{name}"], tmp_path)
    check(only_record(tmp_path, name), name)


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_RAY)
def test_ray_bench_runs_at_smoke_size(name: str, stack: Settings, tmp_path: Path) -> None:
    run_smoke([f"bench.bench_{name}"], tmp_path)
    check(only_record(tmp_path, name), name)


def test_the_suite_runner_runs_the_named_benches_and_prints_every_ratio(tmp_path: Path) -> None:
    done = run_smoke(["bench", "metrics"], tmp_path)
    record = only_record(tmp_path, "metrics")
    assert "every ratio" in done.stdout
    assert all(r["name"] in done.stdout for r in record["ratios"])
