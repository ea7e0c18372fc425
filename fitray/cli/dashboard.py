"""``fitray dashboard``: the local web dashboard over the warehouse, or ``--export`` a report."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from fitray.cli._console import console, err_console
from fitray.config import get_settings
from fitray.dashboard.queries import Filters

__all__ = ["dashboard"]

FilterValues = list[str] | None


def _filter_option(name: str, label: str) -> object:
    return typer.Option(
        name, help=f"Only this {label} in the --export report (repeat for several; default all)."
    )


def dashboard(
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=1, max=65535, help="Port on 127.0.0.1 (default 8501)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write one self-contained HTML report (KPIs + charts) here instead of serving.",
            dir_okay=False,
        ),
    ] = None,
    lite: Annotated[
        bool,
        typer.Option(
            "--lite",
            help="Serve both pages drawn on the server instead: no JavaScript, the numbers "
            "show at once.",
        ),
    ] = False,
    body_part: Annotated[FilterValues, _filter_option("--body-part", "body part")] = None,
    equipment: Annotated[FilterValues, _filter_option("--equipment", "equipment")] = None,
    exercise_type: Annotated[
        FilterValues, _filter_option("--exercise-type", "exercise type")
    ] = None,
    level: Annotated[FilterValues, _filter_option("--level", "exercise level")] = None,
) -> None:
    """Serve the dashboard (Exercises Analysis, Pipeline health) on 127.0.0.1, offline; or
    --export a self-contained HTML report; --lite serves a server-rendered page instead."""
    filters = Filters(
        tuple(body_part or ()),
        tuple(equipment or ()),
        tuple(exercise_type or ()),
        tuple(level or ()),
    )
    if export is not None:
        _export(export, filters)
        return
    if not filters.is_all():
        raise typer.BadParameter("filters apply to --export; on the web page, pick them there")
    port = port or get_settings().dashboard_port
    if lite:
        _serve_lite(port)
    else:
        _serve(port)


def _export(path: Path, filters: Filters) -> None:
    from fitray.dashboard.report import describe_filters, write_report

    written = write_report(get_settings(), path, filters)
    console.print(f"wrote {written} ({describe_filters(filters)})", highlight=False, soft_wrap=True)


def _serve_lite(port: int) -> None:
    from fitray.dashboard.lite import serve

    def ready(url: str) -> None:
        console.print(
            f"dashboard: {url} (Exercises Analysis, Pipeline health; drawn on the server); "
            "Ctrl-C stops it",
            highlight=False,
            soft_wrap=True,
        )

    try:
        serve(get_settings(), port, ready)
    except KeyboardInterrupt:
        err_console.print("stopping the dashboard")


def _serve(port: int) -> None:
    from fitray.dashboard.server import (
        DashboardServerError,
        dashboard_url,
        start_server,
        wait_until_healthy,
    )

    process = start_server(port)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        wait_until_healthy(process, port)
        console.print(
            f"dashboard: {dashboard_url(port)} (Exercises Analysis, Pipeline health); "
            "Ctrl-C stops it",
            highlight=False,
            soft_wrap=True,
        )
        if process.wait() != 0:
            raise DashboardServerError(
                f"the dashboard server stopped with code {process.returncode}; see its output"
            )
    except KeyboardInterrupt:
        err_console.print("stopping the dashboard")
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(process)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
