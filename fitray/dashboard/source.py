"""Read-only access to the warehouse for the dashboard: one connection per snapshot, per backend.

``open_reader`` opens a connection and yields a function that runs one query with bound
parameters; leaving the ``with`` block closes it, so the dashboard never holds the warehouse
between two page renders. DuckDB allows one writing process or several readers: while a batch
load holds the file, opening it waits up to :data:`DUCKDB_LOCK_WAIT_S` and then says so.
Driver errors become one line that names the setting to fix; secrets are scrubbed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from fitray.config import Settings
from fitray.dashboard.exceptions import WarehouseEmpty, WarehouseUnavailable
from fitray.dashboard.queries import Query
from fitray.exceptions import ConfigError
from fitray.warehouse.duckdb import open_duckdb

__all__ = ["DUCKDB_LOCK_WAIT_S", "Reader", "Rows", "open_reader"]

Rows = list[tuple[Any, ...]]
Reader = Callable[[Query], Rows]
DUCKDB_LOCK_WAIT_S = 3.0
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_S = 30  # one query of a page (PostgreSQL, Redshift); beyond it, one line


def open_reader(settings: Settings) -> AbstractContextManager[Reader]:
    """``with open_reader(settings) as read: rows = read(query)`` on the configured backend."""
    backend = settings.warehouse_backend
    if backend == "duckdb":
        return _duckdb(settings.duckdb_file)
    if backend == "postgres":
        return _postgres(settings)
    if backend == "redshift":
        return _redshift(settings)
    raise ConfigError(f"FITRAY_WAREHOUSE_BACKEND={backend!r}: use duckdb, postgres or redshift")


# -- DuckDB -------------------------------------------------------------------------------------


@contextmanager
def _duckdb(path: Path) -> Iterator[Reader]:
    import duckdb

    if not path.exists():
        raise WarehouseEmpty(
            f"no warehouse yet: DuckDB file {path} does not exist; run `fitray batch`, "
            "or point FITRAY_DUCKDB_PATH at the warehouse file"
        )
    con = _open_duckdb(path)

    def read(query: Query) -> Rows:
        try:
            return con.execute(query.sql, list(query.params)).fetchall()
        except duckdb.Error as exc:
            raise WarehouseUnavailable(f"DuckDB file {path}: {_first_line(exc)}") from None

    try:
        yield read
    finally:
        con.close()


def _open_duckdb(path: Path) -> Any:
    return open_duckdb(path, read_only=True, wait_s=DUCKDB_LOCK_WAIT_S)


# -- PostgreSQL ---------------------------------------------------------------------------------


@contextmanager
def _postgres(settings: Settings) -> Iterator[Reader]:
    import psycopg
    from psycopg import IsolationLevel

    secrets = (settings.postgres_password.get_secret_value(),)
    where = f"{settings.postgres_host}:{settings.postgres_port}/{settings.postgres_database}"
    try:
        conn = psycopg.connect(
            settings.postgres_conninfo,
            connect_timeout=CONNECT_TIMEOUT_S,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000}",
        )
    except psycopg.Error as exc:
        text = _first_line(exc, secrets)
        raise WarehouseUnavailable(
            f"PostgreSQL at {where} not reachable ({text}); check {_postgres_hint(text)}"
        ) from None

    def read(query: Query) -> Rows:
        try:
            return conn.execute(query.sql, query.params).fetchall()
        except psycopg.Error as exc:
            raise WarehouseUnavailable(
                f"PostgreSQL at {where}: {_first_line(exc, secrets)}"
            ) from None

    try:
        # one read-only snapshot: every panel sees the same committed loads
        conn.read_only = True
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        yield read
    finally:
        conn.close()  # ends the read-only transaction


def _postgres_hint(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return "FITRAY_POSTGRES_USER / FITRAY_POSTGRES_PASSWORD"
    if "database" in lowered and "does not exist" in lowered:
        return "FITRAY_POSTGRES_DATABASE"
    return "FITRAY_POSTGRES_HOST / FITRAY_POSTGRES_PORT (or FITRAY_WAREHOUSE_BACKEND)"


# -- Redshift -----------------------------------------------------------------------------------


@contextmanager
def _redshift(settings: Settings) -> Iterator[Reader]:
    import redshift_connector

    if not settings.redshift_host or not settings.redshift_user:
        raise ConfigError(
            "the Redshift warehouse needs FITRAY_REDSHIFT_HOST and FITRAY_REDSHIFT_USER "
            "(or set FITRAY_WAREHOUSE_BACKEND=duckdb|postgres)"
        )
    password = settings.redshift_password
    secrets = (password.get_secret_value(),) if password else ()
    where = f"{settings.redshift_host}:{settings.redshift_port}/{settings.redshift_database}"
    try:
        conn = redshift_connector.connect(
            host=settings.redshift_host,
            port=settings.redshift_port,
            database=settings.redshift_database,
            user=settings.redshift_user,
            password=password.get_secret_value() if password else None,
            timeout=CONNECT_TIMEOUT_S,
        )
    except (redshift_connector.Error, OSError) as exc:
        raise WarehouseUnavailable(
            f"Redshift at {where} not reachable ({_first_line(exc, secrets)}); check "
            "FITRAY_REDSHIFT_HOST / FITRAY_REDSHIFT_PORT / FITRAY_REDSHIFT_USER"
        ) from None
    cursor = conn.cursor()
    cursor.execute(f"SET statement_timeout TO {STATEMENT_TIMEOUT_S * 1000}")

    def read(query: Query) -> Rows:
        try:
            cursor.execute(query.sql, query.params or None)
            return [tuple(row) for row in cursor.fetchall() or ()]
        except redshift_connector.Error as exc:
            raise WarehouseUnavailable(
                f"Redshift at {where}: {_first_line(exc, secrets)}"
            ) from None

    try:
        yield read
    finally:
        conn.close()  # read only: the open transaction has nothing to keep


def _first_line(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
