"""The one small interface every local server implements, and the stack's directories."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from fitray.config import Settings
from fitray.stack.process import ProcessFiles

__all__ = ["Service"]


class Service(ABC):
    """A server of the local stack: install what is missing, start, prove health, stop.

    ``check`` must be quick (seconds), bounded by timeouts, and prove the server is the real
    thing by using it; it raises on failure and returns a short proof for ``stack status``.
    """

    name: str
    startup_timeout_s: float = 60.0
    port_setting: str = ""  # the variable that moves this server's port, for error messages

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.files = ProcessFiles(settings.stack_dir, self.name)

    @property
    def data_dir(self) -> Path:
        return self.settings.stack_dir / "data" / self.name

    @property
    @abstractmethod
    def ports(self) -> list[int]: ...

    @property
    @abstractmethod
    def where(self) -> str:
        """Where users reach the server (URL or host:port)."""

    def install(self) -> None:  # noqa: B027 - optional hook, most servers need nothing
        """Fetch or build what the server needs; idempotent, cached outside the clone."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def check(self) -> str: ...

    def after_healthy(self) -> None:  # noqa: B027 - optional hook
        """Set-up that needs the running server (topics, buckets, databases); idempotent."""

    def stop(self) -> bool:
        return self.files.stop()
