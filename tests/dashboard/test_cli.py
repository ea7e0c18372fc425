"""``fitray dashboard`` as a user meets it: help, a taken port, filters without --export.

Serving itself (URL printed, SIGTERM stopping Streamlit too) is exercised by every browser test
through the ``dashboard_server`` fixture; ``--lite`` by tests/dashboard/test_lite.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from fitray.dashboard.server import HOST, streamlit_options


def fitray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitray", "dashboard", *args],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_names_the_port_the_export_and_every_filter() -> None:
    done = fitray("--help")
    assert done.returncode == 0
    for option in (
        "--port",
        "--export",
        "--body-part",
        "--equipment",
        "--exercise-type",
        "--level",
        "--lite",
    ):
        assert option in done.stdout


@pytest.mark.parametrize("lite", [(), ("--lite",)], ids=["streamlit", "lite"])
def test_a_taken_port_is_one_error_line(lite: tuple[str, ...]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = fitray("--port", str(port), *lite)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use by another process; pick another with --port"
    )


def test_filters_belong_to_the_export() -> None:
    done = fitray("--body-part", "Chest")
    assert done.returncode == 2 and "filters apply to --export" in done.stderr


def test_streamlit_stays_on_loopback_and_silent() -> None:
    options = streamlit_options(8501)
    assert options["server.address"] == "127.0.0.1"
    assert options["browser.gatherUsageStats"] == "false"
    assert options["client.showErrorDetails"] == "none"
