"""A private calorie service for a bench run: known latency, no quota, nobody else's calls.

``python -m services.calorie_api --port 0`` picks a free port and logs it; the bench reads it
from the log, waits for ``/health`` and stops the process (its own child) when done. The
child gets none of the ``FITRAY_CALORIE_*`` variables, so only the options here configure it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import ROOT

__all__ = ["calorie_service"]

_LISTENING = re.compile(r"listening on (http://\S+)")
START_DEADLINE_S = 30.0


@contextmanager
def calorie_service(latency_ms: float = 0.0) -> Iterator[str]:
    """The base URL (no ``/v1``) of a fresh service answering after ``latency_ms``."""
    argv = [sys.executable, "-m", "services.calorie_api", "--port", "0", "--api-key", ""]
    argv += ["--latency-ms", str(latency_ms)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITRAY_CALORIE_")}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory(prefix="fitray-bench-api-") as workdir:
        log_path = Path(workdir) / "service.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            yield _wait_until_healthy(process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline, url = time.monotonic() + START_DEADLINE_S, ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"calorie service exited:\n{log_path.read_text()[-800:]}")
        if not url and (found := _LISTENING.search(log_path.read_text(errors="replace"))):
            url = found.group(1)
        if url and _healthy(url):
            return url
        time.sleep(0.05)  # a poll interval, not a wait for an outcome
    raise SystemExit(f"calorie service not healthy after {START_DEADLINE_S:g} s")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("status") == "ok")
    except (OSError, ValueError):
        return False
