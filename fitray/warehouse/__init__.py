"""Warehouses behind one small interface: DuckDB (embedded default), PostgreSQL, Redshift."""

from __future__ import annotations

from fitray.config import WAREHOUSE_BACKENDS, Settings, WarehouseBackend
from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseError, WarehouseUnavailable

__all__ = [
    "LoadRecord",
    "LoadResult",
    "Warehouse",
    "WarehouseError",
    "WarehouseUnavailable",
    "open_warehouse",
]


def open_warehouse(settings: Settings, backend: WarehouseBackend | None = None) -> Warehouse:
    """The warehouse named by ``backend`` (default: ``settings.warehouse_backend``)."""
    backend = backend or settings.warehouse_backend
    failpoints = settings.failpoints
    if backend == "duckdb":
        from fitray.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(settings.duckdb_file, failpoints=failpoints)
    if backend == "postgres":
        from fitray.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(settings.postgres_conninfo, failpoints=failpoints)
    if backend == "redshift":
        from fitray.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse.from_settings(settings, failpoints=failpoints)
    raise WarehouseError(
        f"unknown warehouse {backend!r}; choose one of {', '.join(WAREHOUSE_BACKENDS)}"
    )
