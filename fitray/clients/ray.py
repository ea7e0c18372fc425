"""Joining the Ray cluster: one way for every fitray driver (stream pipeline, batch flow).

Every driver joins with the same job-level runtime environment, so Ray workers always carry
the Prefect server's URL (a Prefect task on a worker without it starts a temporary server of its
own, ~5 s each) and telemetry stays off, whichever pipeline connected first in a process. And
every driver joins in the cluster's authentication mode: Ray reads ``RAY_AUTH_MODE`` from the
driver's environment, and a driver left in the default ('disabled') is refused by a token head.
"""

from __future__ import annotations

import os
from typing import Any

from fitray.clients.prefect import prefect_env
from fitray.config import Settings

__all__ = ["NAMESPACE", "connect_ray", "prepare_driver_env", "ray_init_kwargs"]

NAMESPACE = "fitray"


def ray_init_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``ray.init`` (the address aside) for a fitray driver."""
    return {
        "namespace": NAMESPACE,
        "log_to_driver": False,
        "runtime_env": {"env_vars": prefect_env(settings.prefect_api_url)},
    }


def prepare_driver_env(settings: Settings) -> None:
    """Set this process's Ray auth mode before any ``ray.init``; a user's RAY_AUTH_MODE wins."""
    from ray._raylet import Config  # type: ignore[attr-defined]  # compiled, no stubs

    os.environ.setdefault("RAY_AUTH_MODE", settings.ray_auth_mode)
    Config.initialize("")  # Ray caches its config at import: re-read, as Ray's token setup does


def connect_ray(settings: Settings) -> None:
    """Join the cluster at ``ray_address`` unless this process is already connected."""
    import ray

    if not ray.is_initialized():
        prepare_driver_env(settings)
        ray.init(address=settings.ray_address, **ray_init_kwargs(settings))
