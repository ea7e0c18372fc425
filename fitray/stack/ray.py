"""A Ray head node with its dashboard, run in the foreground (``ray start --block``).

Blocking keeps the head a child of ours, so stopping its process group stops raylet, GCS and
dashboard together and leaves other Ray instances on the machine alone.

Authentication is explicit: Ray 2.60 turns token auth on for a head whenever a token file
(``~/.ray/auth_token``) happens to exist — any earlier local ``ray.init()`` writes one — so
the same command gave an open head on one run and a locked one on the next. We start the
head with ``RAY_AUTH_MODE`` from ``FITRAY_RAY_AUTH_MODE`` (token by default; Ray creates the
token if missing), fitray's drivers join in the same mode (:mod:`fitray.clients.ray`), and the
health check sends the token as a bearer token.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from fitray.config import Settings
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError

__all__ = [
    "RayHeadService",
    "alive_nodes",
    "dashboard_access_hint",
    "ray_auth_token",
    "ray_cli",
]


class RayHeadService(Service):
    name = "ray"
    startup_timeout_s = 90.0
    port_setting = "FITRAY_RAY_ADDRESS / FITRAY_RAY_DASHBOARD_PORT"

    @property
    def ports(self) -> list[int]:
        return [self.settings.ray_port, self.settings.ray_dashboard_port]

    @property
    def where(self) -> str:
        return f"{self.settings.ray_address} (dashboard {self.settings.ray_dashboard_url})"

    def install(self) -> None:
        """A token head needs a token before it starts (``ray start`` will not create one)."""
        if self.settings.ray_auth_mode == "token" and ray_auth_token() is None:
            ray = ray_cli()
            # prints the token: keep it out of our logs
            subprocess.run([ray, "get-auth-token", "--generate"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False, timeout=60)  # fmt: skip
            if ray_auth_token() is None:
                raise StackError("could not create a Ray auth token (`ray get-auth-token "
                                 "--generate`); or set FITRAY_RAY_AUTH_MODE=disabled")  # fmt: skip

    def start(self) -> None:
        ray = ray_cli()
        s = self.settings
        self.files.spawn(
            [
                ray,
                "start",
                "--head",
                "--block",
                "--node-ip-address=127.0.0.1",
                f"--port={s.ray_port}",
                f"--num-cpus={s.ray_num_cpus}",
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={s.ray_dashboard_port}",
                "--disable-usage-stats",
            ],
            env={
                "RAY_USAGE_STATS_ENABLED": "0",
                "RAY_AUTH_MODE": s.ray_auth_mode,
                # the dashboard's Metrics tab and health check ask the stack's Prometheus
                "RAY_PROMETHEUS_HOST": f"http://127.0.0.1:{s.prometheus_port}",
            },
        )

    def stop(self) -> bool:
        # SIGTERM reaches raylet, GCS and dashboard through the process group and they exit at
        # once; the blocking `ray start` itself never exits on it, so SIGKILL it soon after.
        return self.files.stop(timeout_s=5.0)

    def check(self) -> str:
        url = f"{self.settings.ray_dashboard_url}/api/version"
        try:
            version = _get_json(url, timeout_s=3)
        except (OSError, ValueError) as exc:
            raise StackError(f"Ray dashboard at {url} not reachable: {exc}") from None
        alive = alive_nodes(self.settings)
        if not alive:
            raise StackError("Ray dashboard answers but reports no live node")
        return f"dashboard API ok (Ray {version.get('ray_version')}, {len(alive)} node(s) alive)"


def alive_nodes(settings: Settings) -> list[dict[str, Any]]:
    """The raylet records of the live nodes, as the dashboard reports them."""
    url = f"{settings.ray_dashboard_url}/nodes?view=summary"
    try:
        nodes = _get_json(url, timeout_s=5)
    except (OSError, ValueError) as exc:
        raise StackError(f"Ray dashboard at {url} not reachable: {exc}") from None
    raylets = [n.get("raylet", {}) for n in nodes.get("data", {}).get("summary", [])]
    return [r for r in raylets if r.get("state") == "ALIVE"]


def dashboard_access_hint(settings: Settings) -> str | None:
    """How a person gets past the dashboard's "Authentication Token Required" dialog.

    It names the command that prints the token, never the token itself: this text may be
    shown on a terminal, and terminals end up in logs. None when the head runs without auth.
    """
    if settings.ray_auth_mode != "token":
        return None
    return (
        f"The Ray dashboard ({settings.ray_dashboard_url}) asks for a token: run "
        f"`{ray_cli()} get-auth-token` and paste what it prints (the browser keeps it in a "
        "cookie). API clients send it as `Authorization: Bearer <token>`."
    )


def ray_cli() -> str:
    """The ``ray`` command of this environment (the one whose Ray version we run)."""
    return shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"


def ray_auth_token() -> str | None:
    """The token Ray's own clients would send: ``RAY_AUTH_TOKEN``, its path, or the default."""
    if token := os.environ.get("RAY_AUTH_TOKEN"):
        return token.strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _get_json(url: str, *, timeout_s: float) -> Any:
    request = urllib.request.Request(url)
    if token := ray_auth_token():
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.load(response)
