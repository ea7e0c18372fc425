"""``fitray batch``: one batch ETL run with progress and a summary, or ``--serve`` on a schedule."""

from __future__ import annotations

import os
import signal
from datetime import datetime
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fitray.batch.summary import BatchSummary
from fitray.cli._console import console, err_console
from fitray.clients.prefect import prefect_env
from fitray.config import Settings, WarehouseBackend, get_settings
from fitray.exceptions import TransientError

__all__ = ["batch"]

Warehouse = Annotated[
    WarehouseBackend | None,
    typer.Option("--warehouse", "-w", help="Where to load (default: FITRAY_WAREHOUSE_BACKEND)."),
]


def batch(
    warehouse: Warehouse = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve a Prefect deployment running every interval.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="Run the flow's tasks in this process (thread pool) instead of Ray."
        ),
    ] = False,
) -> None:
    """Load new MongoDB documents into the warehouse: Arrow, metrics, Parquet, one transaction."""
    settings = get_settings()
    os.environ.update(prefect_env(settings.prefect_api_url))
    if serve:
        _serve(settings, warehouse)
        return
    _render(_run_with_progress(settings, warehouse, local))


def _run_with_progress(
    settings: Settings, warehouse: WarehouseBackend | None, local: bool
) -> BatchSummary:
    from flows.etl import on_step, run_batch_flow

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task("starting", total=None)
        token = on_step.set(lambda step: progress.update(bar, description=f"batch: {step}"))
        try:
            return run_batch_flow(settings, warehouse, local=local)
        except ConnectionError as exc:
            raise TransientError(
                f"Ray or Prefect not reachable ({exc}); start them with `fitray stack up`"
            ) from exc
        finally:
            on_step.reset(token)


def _serve(settings: Settings, warehouse: WarehouseBackend | None) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from fitray.clients.prefect import require_prefect
    from fitray.clients.ray import prepare_driver_env, require_head
    from flows.serve import serve_batch

    require_prefect(settings.prefect_api_url)
    require_head(settings)
    prepare_driver_env(settings)  # served runs call ray.init in their process
    err_console.print(
        f"serving the batch flow every {settings.batch_interval_s} s; Ctrl-C or SIGTERM lets a "
        "running load finish, then stops"
    )
    with temporary_settings(updates={PREFECT_API_URL: settings.prefect_api_url}):
        summary = serve_batch(settings, warehouse)
    table = Table("", "value", title=f"served {summary.deployment}")
    for state, count in sorted(summary.runs.items()):
        table.add_row(f"runs {state.lower()}", str(count))
    if summary.stopped_by:
        table.add_row("stopped by", summary.stopped_by)
    console.print(table)
    if summary.stopped_by:
        raise typer.Exit(128 + int(signal.Signals[summary.stopped_by]))


def _render(summary: BatchSummary) -> None:
    table = Table("", "value", title=f"batch load {summary.load_id} into {summary.backend}")
    table.add_row("documents read", f"{summary.documents_read:,}")
    table.add_row("rows loaded", f"{summary.rows_inserted:,}")
    table.add_row("skipped (already loaded)", f"{summary.rows_skipped:,}")
    table.add_row("watermark before", _when(summary.watermark_before))
    table.add_row("watermark after", _when(summary.watermark_after))
    for step, seconds in summary.step_seconds.items():
        table.add_row(f"time: {step}", f"{seconds:.2f} s")
    table.add_row("elapsed", f"{summary.elapsed_s:.2f} s")
    if summary.report_files or summary.report_error:
        from rich.markup import escape

        where = summary.report_files[0] if summary.report_files else None
        table.add_row("report", escape(where or f"not refreshed: {summary.report_error}"))
    console.print(table)


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else "-"
