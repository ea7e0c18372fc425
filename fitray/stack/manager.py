"""The local stack as a whole: bring every server up (idempotently), report, stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fitray.config import Settings
from fitray.stack.base import Service
from fitray.stack.calorie_api import CalorieApiService
from fitray.stack.exceptions import StackError
from fitray.stack.ferretdb import FerretDBService
from fitray.stack.kafka import KafkaService
from fitray.stack.objectstore import ObjectStoreService
from fitray.stack.postgres import PostgresService
from fitray.stack.prefect import PrefectService
from fitray.stack.process import port_in_use, tail
from fitray.stack.prometheus import PrometheusService
from fitray.stack.ray import RayHeadService
from fitray.stack.ray_worker import RayWorkerService

__all__ = ["OPT_IN", "SERVICE_TYPES", "ServiceStatus", "Stack"]

SERVICE_TYPES: tuple[type[Service], ...] = (
    PostgresService,
    FerretDBService,
    KafkaService,
    ObjectStoreService,
    CalorieApiService,
    RayHeadService,
    RayWorkerService,
    PrefectService,
    PrometheusService,
)
# Started only when named (`fitray stack up ray-worker`); shown and stopped with the rest while
# they run. A second Ray node on the same cores only serves multi-node runs and their tests.
OPT_IN = frozenset({RayWorkerService.name})

_ORDER = {cls.name: i for i, cls in enumerate(SERVICE_TYPES)}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    healthy: bool
    where: str
    detail: str
    pid: int | None


class Stack:
    def __init__(self, settings: Settings, names: list[str] | None = None) -> None:
        known = {cls.name: cls for cls in SERVICE_TYPES}
        unknown = sorted(set(names or ()) - set(known))
        if unknown:
            raise StackError(
                f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(known)}"
            )
        wanted = set(names) if names else {c.name for c in SERVICE_TYPES} - OPT_IN
        self.services = [cls(settings) for cls in SERVICE_TYPES if cls.name in wanted]
        # with no names, status and down also cover an opt-in server that happens to run
        self._running_opt_in = [
            cls(settings) for cls in SERVICE_TYPES if not names and cls.name in OPT_IN
        ]

    def _present(self) -> list[Service]:
        extra = [s for s in self._running_opt_in if s.files.pid() is not None]
        return sorted([*self.services, *extra], key=lambda s: _ORDER[s.name])

    def status(self) -> list[ServiceStatus]:
        return [self._status(service) for service in self._present()]

    def up(self, progress: Progress = lambda _: None) -> list[ServiceStatus]:
        """Start what is not healthy (installing first), then wait for all; healthy ones stay."""
        starting = []
        for service in self.services:
            if _probe(service) is None:
                progress(f"{service.name}: already running")
                continue
            if service.files.pid() is None:
                self._refuse_busy_ports(service)
                progress(f"{service.name}: installing/starting")
                service.install()
                service.start()
            starting.append(service)
        for service in starting:
            self._wait_healthy(service)
            service.after_healthy()
            progress(f"{service.name}: healthy")
        return self.status()

    def down(self, progress: Progress = lambda _: None) -> None:
        for service in reversed(self._present()):
            if service.stop():
                progress(f"{service.name}: stopped")

    def _status(self, service: Service) -> ServiceStatus:
        try:
            detail, healthy = service.check(), True
        except Exception as exc:
            detail, healthy = _one_line(exc), False
        return ServiceStatus(service.name, healthy, service.where, detail, service.files.pid())

    @staticmethod
    def _refuse_busy_ports(service: Service) -> None:
        for port in service.ports:
            if port_in_use(port):
                raise StackError(
                    f"{service.name}: port {port} is in use by another process; stop it, or move "
                    f"{service.name} with {service.port_setting}"
                )

    @staticmethod
    def _wait_healthy(service: Service) -> None:
        deadline = time.monotonic() + service.startup_timeout_s
        error: Exception | None = None
        while time.monotonic() < deadline:
            if service.files.pid() is None:
                raise StackError(
                    f"{service.name} exited during start-up; see {service.files.log_path}:\n"
                    + tail(service.files.log_path, 8)
                )
            error = _probe(service)
            if error is None:
                return
            time.sleep(0.5)
        raise StackError(
            f"{service.name} did not become healthy within {service.startup_timeout_s:.0f}s "
            f"({_one_line(error)}); see {service.files.log_path}"
        )


def _probe(service: Service) -> Exception | None:
    try:
        service.check()
    except Exception as exc:
        return exc
    return None


def _one_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__
