"""Batch fixtures: the warehouse matrix (shared with tests/warehouse) and a private FerretDB
per backend, so what each backend pushes down is tested whatever the stack runs."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from fitray.config import Settings
from fitray.stack import Stack
from tests.warehouse.conftest import backend, batch_settings

__all__ = ["FerretDB", "backend", "batch_settings", "ferretdbs"]


class FerretDB:
    """A FerretDB started by the stack's own code on its own ports and storage."""

    def __init__(self, base: Settings, backend: str, folder: Path) -> None:
        mongo_port, debug_port = _free_ports(2)
        self.backend = backend
        self.settings = base.model_copy(
            update={
                "stack_dir": folder,
                "mongo_url": SecretStr(f"mongodb://127.0.0.1:{mongo_port}/"),
                "ferretdb_debug_port": debug_port,
                "ferretdb_backend": backend,
                "ferretdb_postgres_database": f"test_ferretdb_{uuid.uuid4().hex[:8]}",
            }
        )
        self.stack = Stack(self.settings, ["ferretdb"])

    @property
    def url(self) -> str:
        return self.settings.mongo_url.get_secret_value()

    def pg(self):  # type: ignore[no-untyped-def]
        """A connection to the PostgreSQL database FerretDB stores into."""
        import psycopg

        name = self.settings.ferretdb_postgres_database
        return psycopg.connect(self.settings.postgres_conninfo, dbname=name, autocommit=True)

    def stop(self) -> None:
        self.stack.down()
        if self.backend == "postgresql":
            import psycopg

            name = self.settings.ferretdb_postgres_database
            with psycopg.connect(self.settings.postgres_conninfo, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def ferretdbs(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """{"postgresql": FerretDB, "sqlite": FerretDB}, both running for the session."""
    started: dict[str, FerretDB] = {}
    try:
        for name in ("postgresql", "sqlite"):
            store = FerretDB(stack, name, tmp_path_factory.mktemp(f"ferretdb-{name}"))
            store.stack.up()
            started[name] = store
        yield started
    finally:
        for store in started.values():
            store.stop()
