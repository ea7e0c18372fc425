"""``fitray batch``: one batch ETL run with progress and a summary, or ``--serve`` on a schedule."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.config import get_settings
from fitray.exceptions import TransientError
from fitray.stack.prefect import prefect_env

__all__ = ["batch"]

Warehouse = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="duckdb | postgres | redshift (default: FITRAY_WAREHOUSE_BACKEND).",
    ),
]


def batch(
    warehouse: Warehouse = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve a Prefect deployment running every interval.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Run the steps in this process (no Ray, no Prefect).")
    ] = False,
) -> None:
    """Load new MongoDB documents into the warehouse: Arrow, metrics, Parquet, one transaction."""
    settings = get_settings()
    _check_backend(warehouse)
    os.environ.update(prefect_env(settings.prefect_api_url))
    if serve:
        _serve(warehouse, settings.batch_interval_s)
        return
    summary = _run_with_progress(warehouse, local)
    _render(summary)


def _check_backend(warehouse: str | None) -> None:
    from fitray.warehouse import BACKENDS

    if warehouse is not None and warehouse not in BACKENDS:
        raise typer.BadParameter(f"{warehouse!r} is not one of {', '.join(BACKENDS)}")


def _run_with_progress(warehouse: str | None, local: bool) -> dict[str, Any]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task("starting", total=None)

        def show(step: str) -> None:
            progress.update(bar, description=f"batch: {step}")

        if local:
            from dataclasses import asdict

            from fitray.batch.pipeline import run_batch

            return asdict(run_batch(get_settings(), warehouse, progress=show))
        return _run_flow(warehouse, show)


def _run_flow(warehouse: str | None, show: Any) -> dict[str, Any]:
    from flows.etl import on_step, run_batch_flow

    token = on_step.set(show)
    try:
        return run_batch_flow(warehouse)
    except ConnectionError as exc:
        raise TransientError(
            f"Ray or Prefect not reachable ({exc}); start them with `fitray stack up`"
        ) from exc
    finally:
        on_step.reset(token)


def _serve(warehouse: str | None, interval_s: int) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from fitray.compute import prepare_driver_env
    from flows.etl import FLOW_NAME, batch_etl

    prepare_driver_env(get_settings())  # served runs call ray.init in this process
    name = f"{FLOW_NAME}-every-{interval_s}s"
    err_console.print(f"serving deployment {name!r}; Ctrl-C stops it")
    with temporary_settings(updates={PREFECT_API_URL: get_settings().prefect_api_url}):
        batch_etl.serve(name=name, interval=interval_s, parameters={"backend": warehouse})


def _render(summary: dict[str, Any]) -> None:
    table = Table("", "value", title=f"batch load {summary['load_id']}")
    table.add_row("documents read", str(summary["documents_read"]))
    table.add_row("rows loaded", str(summary["rows_inserted"]))
    table.add_row("skipped (already loaded)", str(summary["rows_skipped"]))
    table.add_row("watermark before", _when(summary["watermark_before"]))
    table.add_row("watermark after", _when(summary["watermark_after"]))
    for step, seconds in summary["step_seconds"].items():
        table.add_row(f"time: {step}", f"{seconds:.2f} s")
    console.print(table)


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else "-"
