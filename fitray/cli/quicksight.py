"""``fitray quicksight``: recreate the original QuickSight analysis and dashboard on Redshift.

``apply`` renders deploy/quicksight for one account, checks every request offline (botocore's
model and the cross-references), then creates or updates each resource and publishes the
dashboard. ``--dry-run`` prints the requests instead (password redacted). ``validate`` checks
the definition files alone. The Redshift login comes from FITRAY_REDSHIFT_USER and
FITRAY_REDSHIFT_PASSWORD only, never from the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.config import Settings, get_settings
from fitray.exceptions import ConfigError
from fitray.quicksight import (
    DEFAULT_DIRECTORY,
    Applier,
    ApplyResult,
    RedshiftCredentials,
    Target,
    Waiting,
    build_plan,
    check_plan,
    check_region,
    ensure_valid,
    load_definitions,
    make_client,
)
from fitray.quicksight.exceptions import RedshiftCredentialsError

__all__ = ["app", "apply", "validate"]

app = typer.Typer(
    help="QuickSight as code: the 'Exercises Analysis' sheet and dashboard over Redshift.",
    no_args_is_help=True,
)

Definitions = Annotated[Path, typer.Option("--definitions", help="Folder of the definition files.")]
EXAMPLE = Target(
    account_id="123456789012",
    region="us-east-1",
    principal_arn="arn:aws:quicksight:us-east-1:123456789012:user/default/example",
    redshift_host="example.abc123.us-east-1.redshift.amazonaws.com",
    redshift_port=5439,
    redshift_database="dev",
)


@app.command("apply")
def apply(
    account_id: Annotated[str, typer.Option(help="AWS account id (12 digits).")],
    region: Annotated[str, typer.Option(help="AWS region of QuickSight, e.g. us-east-1.")],
    principal_arn: Annotated[
        str, typer.Option(help="QuickSight user/group ARN that owns every resource.")
    ],
    redshift_host: Annotated[
        str | None, typer.Option(help="Redshift endpoint host (default: FITRAY_REDSHIFT_HOST).")
    ] = None,
    redshift_port: Annotated[
        int | None, typer.Option(help="Redshift port (default: FITRAY_REDSHIFT_PORT).")
    ] = None,
    redshift_database: Annotated[
        str | None, typer.Option(help="Redshift database (default: FITRAY_REDSHIFT_DATABASE).")
    ] = None,
    redshift_cluster_id: Annotated[
        str | None, typer.Option(help="Redshift cluster id (optional).")
    ] = None,
    id_prefix: Annotated[
        str, typer.Option(help="Prefix of the resource ids (one copy per prefix).")
    ] = "fitray",
    profile: Annotated[
        str | None, typer.Option(help="AWS profile (default: boto3's chain).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="QuickSight endpoint (default: the region's).")
    ] = None,
    timeout_s: Annotated[
        float, typer.Option(help="Longest wait for QuickSight to build one resource.")
    ] = 600.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the requests (secrets redacted); send none.")
    ] = False,
    definitions: Definitions = DEFAULT_DIRECTORY,
) -> None:
    """Create or update the data source, dataset, analysis and dashboard; publish the dashboard."""
    settings = get_settings()
    host = redshift_host or settings.redshift_host
    if not host:
        raise ConfigError("give --redshift-host or set FITRAY_REDSHIFT_HOST")
    target = Target(
        account_id=account_id,
        region=region,
        principal_arn=principal_arn,
        redshift_host=host,
        redshift_port=redshift_port or settings.redshift_port,
        redshift_database=redshift_database or settings.redshift_database,
        redshift_cluster_id=redshift_cluster_id,
        id_prefix=id_prefix,
        partition=check_region(region),
    )
    credentials = _credentials(settings, required=not dry_run)
    plan = build_plan(load_definitions(target, definitions), target, credentials)
    ensure_valid(plan)
    if dry_run:
        console.out(json.dumps(plan.as_dict(), indent=2))
        return
    client = make_client(region, profile, endpoint_url)
    applier = Applier(
        client,
        plan,
        secrets=[credentials.password.get_secret_value()],
        waiting=Waiting(timeout_s=timeout_s),
        report=lambda line: err_console.print(line, highlight=False),
    )
    _render(applier.run())


@app.command("validate")
def validate(definitions: Definitions = DEFAULT_DIRECTORY) -> None:
    """Check the definition files offline (model and cross-references); exit 1 on a problem."""
    credentials = RedshiftCredentials("example", SecretStr("example"))
    plan = build_plan(load_definitions(EXAMPLE, definitions), EXAMPLE, credentials)
    problems = check_plan(plan)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        err_console.print(f"{len(problems)} problem(s) in {definitions}", style="red")
        raise typer.Exit(1)
    console.print(
        f"{len(plan.requests())} requests valid; every reference resolves ({definitions})"
    )


def _credentials(settings: Settings, required: bool) -> RedshiftCredentials:
    user, password = settings.redshift_user, settings.redshift_password
    if user and password is not None and password.get_secret_value():
        return RedshiftCredentials(user, password)
    if required:
        raise RedshiftCredentialsError(
            "set FITRAY_REDSHIFT_USER and FITRAY_REDSHIFT_PASSWORD (environment or .env): "
            "the database login QuickSight stores in the data source"
        )
    err_console.print("note: FITRAY_REDSHIFT_USER/PASSWORD unset; apply would stop here")
    return RedshiftCredentials(user or "<FITRAY_REDSHIFT_USER>", SecretStr("<unset>"))


def _render(result: ApplyResult) -> None:
    table = Table("resource", "id", "action", "status", title="QuickSight")
    for outcome in result.outcomes:
        table.add_row(outcome.label, outcome.resource_id, outcome.action, outcome.status)
    console.print(table)
    console.print(f"dashboard version {result.dashboard_version} published")
    if result.dashboard_url:
        console.out(f"open: {result.dashboard_url}")  # never wrapped: it must stay clickable
