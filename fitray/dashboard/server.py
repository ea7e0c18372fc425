"""Start the Streamlit server of the dashboard, bound to 127.0.0.1, with nothing phoning home.

Streamlit runs as its own process (``python -m streamlit run``, its stable interface), with
every option given on the command line so that no ``~/.streamlit/config.toml`` can turn usage
statistics, a bind address beyond loopback or detailed tracebacks back on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from fitray.exceptions import TerminalError

__all__ = [
    "APP_PATH",
    "DEFAULT_PORT",
    "HOST",
    "DashboardServerError",
    "dashboard_url",
    "port_is_free",
    "start_server",
    "streamlit_command",
    "streamlit_options",
    "wait_until_healthy",
]

HOST = "127.0.0.1"
DEFAULT_PORT = 8501
APP_PATH = Path(__file__).with_name("app.py")
START_TIMEOUT_S = 60.0


class DashboardServerError(TerminalError):
    """The dashboard server could not start (port taken, Streamlit exited)."""


def streamlit_options(port: int) -> dict[str, str]:
    """Streamlit's settings: loopback only, no telemetry, no prompts, no tracebacks in the page."""
    return {
        "server.address": HOST,
        "server.port": str(port),
        "server.headless": "true",  # no browser launch, no e-mail prompt
        "server.showEmailPrompt": "false",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "server.enableStaticServing": "false",
        "browser.gatherUsageStats": "false",  # no usage statistics leave the machine
        "browser.serverAddress": HOST,
        "browser.serverPort": str(port),
        "client.showErrorDetails": "none",  # the page shows one line, the log the rest
        "client.showErrorLinks": "false",  # no "ask the web" links under errors
        "client.toolbarMode": "viewer",  # no deploy button (a link to a hosted service)
        "global.developmentMode": "false",
        "theme.base": "light",
    }


def streamlit_command(port: int) -> list[str]:
    flags = [part for key, value in streamlit_options(port).items() for part in (f"--{key}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP_PATH), *flags]


def dashboard_url(port: int) -> str:
    return f"http://{HOST}:{port}/"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def start_server(port: int, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start Streamlit on ``port``; its output goes where this process's goes."""
    if not port_is_free(port):
        raise DashboardServerError(
            f"port {port} on {HOST} is in use by another process; pick another with --port"
        )
    return subprocess.Popen(streamlit_command(port), env={**os.environ, **(env or {})})


def wait_until_healthy(
    process: subprocess.Popen[bytes], port: int, timeout_s: float = START_TIMEOUT_S
) -> None:
    """Return once Streamlit answers its health check; raise if it exits or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    url = f"http://{HOST}:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DashboardServerError(
                f"the dashboard server exited during start-up (code {process.returncode}); "
                "see its output above"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # poll interval of a condition with a deadline
    raise DashboardServerError(
        f"the dashboard server did not answer {url} within {timeout_s:.0f} s"
    )
