"""``fitray stack up|status|down|logs``: the local stack of real servers, without Docker."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.config import get_settings
from fitray.stack import ServiceStatus, Stack, StackError
from fitray.stack.process import tail
from fitray.stack.ray import dashboard_access_hint

__all__ = ["app"]

app = typer.Typer(
    help="Run the local stack: Kafka, FerretDB, PostgreSQL, S3, calorie API, Ray, Prefect, "
    "Prometheus (and, on request, a second Ray node: ray-worker).",
    no_args_is_help=True,
)

Services = Annotated[
    list[str] | None,
    typer.Argument(
        help="Services to act on (default: all but ray-worker): postgres ferretdb kafka s3 "
        "calorie-api ray ray-worker prefect prometheus."
    ),
]


def _render(statuses: list[ServiceStatus]) -> None:
    table = Table("service", "state", "where", "proof", title="fitray local stack")
    for status in statuses:
        state = "[green]healthy[/green]" if status.healthy else "[red]down[/red]"
        table.add_row(status.name, state, status.where, status.detail)
    console.print(table)
    ray_up = any(s.name == "ray" and s.healthy for s in statuses)
    if ray_up and (hint := dashboard_access_hint(get_settings())):
        console.print(hint, highlight=False, markup=False)


@app.command()
def up(services: Services = None) -> None:
    """Install what is missing and start every server that is not healthy (idempotent)."""
    stack = Stack(get_settings(), services)
    with err_console.status("bringing the stack up") as spinner:

        def progress(line: str) -> None:
            spinner.update(line)
            err_console.log(line)

        statuses = stack.up(progress=progress)
    _render(statuses)
    _fail_if_unhealthy(statuses)


@app.command()
def status(services: Services = None) -> None:
    """Prove each server is the real thing by using it; exit 1 if any is down."""
    statuses = Stack(get_settings(), services).status()
    _render(statuses)
    _fail_if_unhealthy(statuses)


@app.command()
def down(services: Services = None) -> None:
    """Stop the servers fitray started (data stays under .stack/data)."""
    Stack(get_settings(), services).down(progress=err_console.log)


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="One service name.")],
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 40,
) -> None:
    """Show the last lines of one server's log."""
    (target,) = Stack(get_settings(), [service]).services
    console.print(f"[bold]{target.files.log_path}[/bold]")
    console.print(tail(target.files.log_path, lines) or "(empty)", highlight=False, markup=False)


def _fail_if_unhealthy(statuses: list[ServiceStatus]) -> None:
    down_names = [s.name for s in statuses if not s.healthy]
    if down_names:
        raise StackError(
            f"not healthy: {', '.join(down_names)}; run `fitray stack up`, then "
            f"`fitray stack logs <service>`"
        )
