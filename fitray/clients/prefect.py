"""The environment every Prefect process of fitray needs: the server's URL, no network calls."""

from __future__ import annotations

from pathlib import Path

__all__ = ["prefect_env"]


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
