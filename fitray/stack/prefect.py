"""The Prefect server (``prefect server start``) with its state under ``.stack/data/prefect``."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

from fitray.clients.prefect import prefect_env
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError

__all__ = ["PrefectService"]


class PrefectService(Service):
    name = "prefect"
    startup_timeout_s = 120.0
    port_setting = "FITRAY_PREFECT_API_URL"

    @property
    def ports(self) -> list[int]:
        return [self.settings.prefect_port]

    @property
    def where(self) -> str:
        return self.settings.prefect_api_url.removesuffix("/api") + " (UI and API)"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
        env = prefect_env(self.settings.prefect_api_url, home=self.data_dir)
        env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
        self.files.spawn(
            [
                prefect,
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.settings.prefect_port),
            ],
            env=env,
        )

    def check(self) -> str:
        base = self.settings.prefect_api_url.rstrip("/")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=3) as response:
                healthy = json.load(response)
            with urllib.request.urlopen(f"{base}/admin/version", timeout=3) as response:
                version = json.load(response)
        except (OSError, ValueError) as exc:
            raise StackError(f"Prefect API at {base} not reachable: {exc}") from None
        if healthy is not True:
            raise StackError(f"Prefect API at {base} reports unhealthy: {healthy!r}")
        return f"API healthy (Prefect {version})"
