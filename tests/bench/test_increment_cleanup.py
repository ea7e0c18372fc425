"""bench_increment's clean-up of databases that killed runs left on the stack's PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from bench.bench_increment import drop_orphans
from fitray.config import Settings


def databases(settings: Settings) -> set[str]:
    with psycopg.connect(settings.postgres_conninfo, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}


@pytest.fixture
def look_alike(stack: Settings) -> Iterator[str]:
    """A database whose name only looks like a bench's (``_`` is a LIKE wildcard)."""
    name = f"bench_incrementX{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(stack.postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_orphaned_bench_databases_are_dropped_and_nothing_else(
    stack: Settings, look_alike: str
) -> None:
    orphan = f"bench_increment_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{orphan}"')
    before = databases(stack)
    assert drop_orphans(stack) == [orphan]
    assert databases(stack) == before - {orphan}
    assert look_alike in databases(stack)
