"""FerretDB on the stack's PostgreSQL: its database and companion-index triggers are set up
before it starts, the password never reaches its command line or log, and an unreachable
PostgreSQL is one line naming the way out."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from fitray.config import Settings
from fitray.stack import Stack, StackError
from fitray.stack.ferretdb import postgres_url, prepare_postgres
from tests.batch.conftest import _free_ports


def private(stack: Settings, tmp_path: Path, **overrides: object) -> Settings:
    mongo_port, debug_port = _free_ports(2)
    return stack.model_copy(
        update={
            "stack_dir": tmp_path / "stack",
            "mongo_url": SecretStr(f"mongodb://127.0.0.1:{mongo_port}/"),
            "ferretdb_debug_port": debug_port,
            "ferretdb_postgres_database": f"test_ferretdb_{uuid.uuid4().hex[:8]}",
            **overrides,
        }
    )


def drop_database(settings: Settings) -> None:
    with psycopg.connect(settings.postgres_conninfo, autocommit=True) as conn:
        name = settings.ferretdb_postgres_database
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_backend_starts_with_its_database_and_keeps_the_password_out_of_sight(
    stack: Settings, tmp_path: Path
) -> None:
    settings = private(stack, tmp_path, ferretdb_backend="postgresql")
    secret = postgres_url(settings)  # holds the password ('fitray' here: too common to grep)
    services = Stack(settings, ["ferretdb"])
    try:
        (status,) = services.up()
        assert status.healthy, status.detail
        assert "equality pushed down" in status.detail  # the PostgreSQL backend, not SQLite
        cmdline = Path(f"/proc/{status.pid}/cmdline").read_bytes().decode()
        assert "--handler=postgresql" in cmdline
        assert secret not in cmdline and "--postgresql-url" not in cmdline
        with psycopg.connect(
            settings.postgres_conninfo, dbname=settings.ferretdb_postgres_database
        ) as conn:
            triggers = conn.execute("SELECT evtname FROM pg_event_trigger").fetchall()
        assert sorted(t[0] for t in triggers) == [
            "fitray_gin_companion_create",
            "fitray_gin_companion_drop",
        ]
    finally:
        services.down()
        drop_database(settings)
    assert secret not in services.services[0].files.log_path.read_text()


def test_prepare_is_idempotent(stack: Settings, tmp_path: Path) -> None:
    settings = private(stack, tmp_path)
    try:
        prepare_postgres(settings)
        prepare_postgres(settings)  # an existing database and triggers are left as they are
    finally:
        drop_database(settings)


def test_unreachable_postgresql_is_one_line_naming_the_way_out(
    stack: Settings, tmp_path: Path
) -> None:
    (port,) = _free_ports(1)
    settings = private(stack, tmp_path, postgres_port=port, postgres_password=SecretStr("pw-X7q"))
    with pytest.raises(StackError, match="FITRAY_FERRETDB_BACKEND=sqlite") as raised:
        prepare_postgres(settings, wait_s=0.5)
    assert "\n" not in str(raised.value)
    assert settings.postgres_password.get_secret_value() not in str(raised.value)


def test_the_url_quotes_what_a_url_cannot_hold(stack: Settings) -> None:
    settings = stack.model_copy(
        update={"postgres_password": SecretStr("p@ss/w:rd"), "ferretdb_postgres_database": "f db"}
    )
    url = postgres_url(settings)
    assert url.endswith(f"@{settings.postgres_host}:{settings.postgres_port}/f%20db")
    assert ":p%40ss%2Fw%3Ard@" in url
