"""A Ray head node with its dashboard, run in the foreground (``ray start --block``).

Blocking keeps the head a child of ours, so stopping its process group stops raylet, GCS and
dashboard together and leaves other Ray instances on the machine alone.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

from fitray.stack.base import Service
from fitray.stack.exceptions import StackError

__all__ = ["RayHeadService"]


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

    def start(self) -> None:
        ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
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
            env={"RAY_USAGE_STATS_ENABLED": "0"},
        )

    def check(self) -> str:
        url = f"{self.settings.ray_dashboard_url}/api/version"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                version = json.load(response)
            with urllib.request.urlopen(
                f"{self.settings.ray_dashboard_url}/nodes?view=summary", timeout=5
            ) as response:
                nodes = json.load(response)
        except (OSError, ValueError) as exc:
            raise StackError(f"Ray dashboard at {url} not reachable: {exc}") from None
        alive = [
            n
            for n in nodes.get("data", {}).get("summary", [])
            if n.get("raylet", {}).get("state") == "ALIVE"
        ]
        if not alive:
            raise StackError("Ray dashboard answers but reports no live node")
        return f"dashboard API ok (Ray {version.get('ray_version')}, {len(alive)} node(s) alive)"
