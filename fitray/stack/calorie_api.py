"""The local calorie API (``services/calorie_api``), API-Ninjas compatible."""

from __future__ import annotations

import json
import sys
import urllib.request

from fitray.stack.base import Service
from fitray.stack.exceptions import StackError

__all__ = ["CalorieApiService"]


class CalorieApiService(Service):
    name = "calorie-api"
    startup_timeout_s = 30.0
    port_setting = "FITRAY_CALORIE_API_URL"

    @property
    def ports(self) -> list[int]:
        return [self.settings.calorie_api_port]

    @property
    def where(self) -> str:
        return f"{self.settings.calorie_api_url}/v1/caloriesburned"

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "services.calorie_api",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.settings.calorie_api_port),
        ]
        env = {}
        if self.settings.calorie_api_key is not None:
            env["FITRAY_CALORIE_SERVICE_API_KEY"] = self.settings.calorie_api_key.get_secret_value()
        self.files.spawn(argv, env=env, cwd=self.settings.data_dir.parent)

    def check(self) -> str:
        query = "activity=running&weight=160&duration=30"
        url = f"{self.settings.calorie_api_url}/v1/caloriesburned?{query}"
        request = urllib.request.Request(url)
        if self.settings.calorie_api_key is not None:
            request.add_header("X-Api-Key", self.settings.calorie_api_key.get_secret_value())
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                answer = json.load(response)
        except (OSError, ValueError) as exc:
            raise StackError(
                f"calorie API at {self.settings.calorie_api_url} not usable: {exc}"
            ) from None
        if not isinstance(answer, list) or not answer:
            raise StackError(f"calorie API answered {answer!r:.80} for 'running'")
        return f"lookup ok ({len(answer)} activities match 'running')"
