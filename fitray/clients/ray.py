"""Joining the Ray cluster: one way for every fitray driver (stream pipeline, batch flow).

Every driver joins with the same job-level runtime environment, so Ray workers always carry
the Prefect server's URL (a Prefect task on a worker without it starts a temporary server of its
own, ~5 s each) and telemetry stays off, whichever pipeline connected first in a process. And
every driver joins in the cluster's authentication mode: Ray reads ``RAY_AUTH_MODE`` from the
driver's environment, and a driver left in the default ('disabled') is refused by a token head.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from fitray.clients.prefect import prefect_env
from fitray.config import Settings, split_host_port
from fitray.exceptions import ServiceUnavailable

__all__ = [
    "NAMESPACE",
    "RayHeadLost",
    "connect_ray",
    "head_reachable",
    "prepare_driver_env",
    "ray_init_kwargs",
    "ray_running",
    "require_head",
]

NAMESPACE = "fitray"
PROBE_TIMEOUT_S = 2.0


class RayHeadLost(ServiceUnavailable):
    """The Ray head stopped answering during a run: the driver must exit, not wait for Ray."""


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
    # The driver's C++ core worker logs to our stderr; when the head dies it prints a line per
    # task every second ("Failed to push error to driver"). fitray reports failures itself, as
    # one line: keep Ray's own only for fatal ones (FITRAY_DEBUG=1 shows them all).
    os.environ.setdefault(
        "RAY_BACKEND_LOG_LEVEL", "debug" if os.environ.get("FITRAY_DEBUG") else "fatal"
    )
    Config.initialize("")  # Ray caches its config at import: re-read, as Ray's token setup does


def connect_ray(settings: Settings) -> None:
    """Join the cluster at ``ray_address`` unless this process is already connected.

    A head that does not answer is one clear error within seconds: ``ray.init`` itself
    would retry for minutes, printing connection warnings, deaf to SIGTERM meanwhile.
    """
    import ray

    if not ray.is_initialized():
        require_head(settings)
        prepare_driver_env(settings)
        ray.init(address=settings.ray_address, **ray_init_kwargs(settings))


def head_reachable(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the head's GCS port accepts a connection (True for addresses we cannot probe:
    ``auto`` and Ray Client's ``ray://``, which Ray resolves itself)."""
    if address == "auto" or "://" in address:
        return True
    host, port = split_host_port(address, 6379)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_head(settings: Settings) -> None:
    if not head_reachable(settings.ray_address):
        raise ServiceUnavailable(
            f"no Ray head answers at {settings.ray_address} (FITRAY_RAY_ADDRESS); start the "
            "local stack with `fitray stack up`, or point FITRAY_RAY_ADDRESS at your cluster"
        )


def ray_running() -> bool:
    """Whether this process is connected to Ray, without importing it (a module still being
    imported by another thread counts as not connected)."""
    is_initialized = getattr(sys.modules.get("ray"), "is_initialized", None)
    return bool(is_initialized is not None and is_initialized())
