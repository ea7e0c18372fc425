"""``fitray report`` as a user meets it: help, a bad window. Its numbers against a pipeline
that ran, and its unreachable state, are checked in test_health_browser.py."""

from __future__ import annotations

import os
import subprocess
import sys


def fitray_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitray", "report", *args],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_names_the_window_the_json_and_the_loads() -> None:
    done = fitray_report("--help")
    assert done.returncode == 0
    for option in ("--window-hours", "--json", "--loads"):
        assert option in done.stdout


def test_a_window_that_is_not_a_positive_number_is_refused_before_reading_anything() -> None:
    for bad in ("0", "-3", "soon"):
        done = fitray_report("--window-hours", bad)
        assert done.returncode == 2 and "--window-hours" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
