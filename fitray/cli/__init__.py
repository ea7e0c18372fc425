"""The ``fitray`` command line: one Typer app, one sub-app per concern.

User mistakes and unavailable servers end as one red line and exit code 1, never a traceback;
``FITRAY_DEBUG=1`` shows the traceback for a bug report.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.table import Table

from fitray.cli import dead_letters, mapping, quicksight, stack, stream
from fitray.cli._console import console, err_console
from fitray.cli.batch import batch
from fitray.cli.dashboard import dashboard
from fitray.cli.demo import demo
from fitray.cli.report import report
from fitray.config import get_settings
from fitray.exceptions import FitrayError

__all__ = ["app", "main"]

app = typer.Typer(
    name="fitray",
    help="Enrich workout events with calories burned: stream on Ray, batch with Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("config")
def show_config() -> None:
    """Show the effective settings (environment, .env, defaults), secrets redacted."""
    table = Table("variable", "value", title="fitray settings")
    for name, value in get_settings().public_view().items():
        table.add_row(name, value)
    console.print(table)


app.add_typer(stack.app, name="stack")
app.add_typer(mapping.app, name="mapping")
app.add_typer(stream.app, name="stream")
app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(quicksight.app, name="quicksight")
app.command("batch")(batch)
app.command("demo")(demo)
app.command("dashboard")(dashboard)
app.command("report")(report)


def main() -> None:
    try:
        app()
    except FitrayError as exc:
        if os.environ.get("FITRAY_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
