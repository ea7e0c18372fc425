"""Warehouses behind one small interface: DuckDB (embedded default), PostgreSQL, Redshift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseError, WarehouseUnavailable

__all__ = [
    "BACKENDS",
    "LoadRecord",
    "LoadResult",
    "Warehouse",
    "WarehouseError",
    "WarehouseUnavailable",
    "open_warehouse",
]

BACKENDS = ("duckdb", "postgres", "redshift")


def open_warehouse(
    settings: Any, backend: str | None = None, before_commit: Callable[[], None] | None = None
) -> Warehouse:
    """The warehouse named by ``backend`` (default: ``settings.warehouse_backend``)."""
    backend = backend or settings.warehouse_backend
    if backend == "duckdb":
        from fitray.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(settings.duckdb_file, before_commit=before_commit)
    if backend == "postgres":
        from fitray.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(settings.postgres_conninfo, before_commit=before_commit)
    if backend == "redshift":
        from fitray.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse.from_settings(settings, before_commit=before_commit)
    raise WarehouseError(f"unknown warehouse {backend!r}; choose one of {', '.join(BACKENDS)}")
