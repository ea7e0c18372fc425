"""The environment every Prefect process of fitray needs: the server's URL, no network calls."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from fitray.exceptions import ServiceUnavailable

__all__ = ["prefect_env", "require_prefect"]


def prefect_env(api_url: str, home: Path | None = None) -> dict[str, str]:
    """Variables for a Prefect client or server: where the API is; telemetry and analytics off
    (there may be no network, and nothing should leave the machine unasked)."""
    env = {
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
    }
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    return env


def require_prefect(api_url: str, timeout_s: float = 3.0) -> None:
    """One clear error within seconds when no Prefect server answers (a Prefect client would
    otherwise retry, or start a temporary server of its own)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as answer:
            healthy = json.load(answer) is True
    except (OSError, ValueError):
        healthy = False
    if not healthy:
        raise ServiceUnavailable(
            f"no Prefect server answers at {api_url} (FITRAY_PREFECT_API_URL); start the local "
            "stack with `fitray stack up`, or point FITRAY_PREFECT_API_URL at your server"
        )
