"""``fitray demo``: the main job, end to end on the local stack, then where to look."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from fitray.cli._console import console
from fitray.config import Settings, get_settings
from fitray.stack import Stack, StackError
from fitray.stack.ray import dashboard_access_hint

__all__ = ["demo"]


def demo(
    count: Annotated[int, typer.Option(help="Workouts to stream end to end.")] = 3000,
    seed: Annotated[
        int | None, typer.Option(help="Generator seed (default: new each run, so events are new).")
    ] = None,
) -> None:
    """Stream workouts through calorie API -> Ray -> Kafka -> MongoDB, load them into the
    warehouse with the Prefect flow on Ray, and show where every part lives."""
    from fitray.cli.batch import batch
    from fitray.cli.stream import ProviderChoice, Source
    from fitray.cli.stream import run as stream_run

    settings = get_settings()
    _require_healthy_stack(settings)
    seed = int(time.time()) if seed is None else seed
    console.rule(f"1/3  stream {count} workouts (seed {seed})")
    stream_run(
        count=count,
        seed=seed,
        duration=None,
        rate=None,
        source=Source.generator,
        provider=ProviderChoice.http,
        enrich_actors=None,
        consumers=None,
        batch_size=None,
        max_in_flight=None,
        consume=True,
        as_json=False,
    )
    console.rule("2/3  batch: MongoDB -> Arrow -> metrics -> Parquet -> warehouse")
    batch(warehouse=None, serve=False, local=False)
    console.rule("3/3  where to look")
    _warehouse_preview(settings)
    _where(settings)


def _require_healthy_stack(settings: Settings) -> None:
    down = [f"{s.name} at {s.where}" for s in Stack(settings).status() if not s.healthy]
    if down:
        raise StackError(
            f"not healthy: {'; '.join(down)}; run `fitray stack up` first "
            "(`make demo` does it for you)"
        )


def _warehouse_preview(settings: Settings) -> None:
    """A first dashboard in the terminal: calories by level from ``exercises_enriched``."""
    if settings.warehouse_backend != "duckdb":
        return
    import duckdb

    with duckdb.connect(str(settings.duckdb_file), read_only=True) as conn:
        rows = conn.execute(
            "select level, count(*), round(avg(total_calories_aprox), 1), "
            "round(avg(level_weighted_kcal), 1) from exercises_enriched "
            "group by level order by level nulls last"
        ).fetchall()
    table = Table(
        "level",
        "workouts",
        "avg kcal",
        "avg level-weighted kcal",
        title=f"exercises_enriched in {settings.duckdb_file}",
    )
    for row in rows:
        table.add_row(*(str(value) for value in row))
    console.print(table)


def _where(settings: Settings) -> None:
    table = Table("service", "where", title="the local stack")
    for status in Stack(settings).status():
        table.add_row(status.name, status.where)
    table.add_row("warehouse", f"{settings.warehouse_backend}: {settings.duckdb_file}")
    console.print(table)
    console.print(
        f"Ray dashboard: {settings.ray_dashboard_url}   Prefect UI: "
        f"{settings.prefect_api_url.removesuffix('/api')}"
    )
    if hint := dashboard_access_hint(settings):
        console.print(hint, soft_wrap=True, highlight=False)
    from fitray.dashboard.report import REPORT_FILE
    from fitray.dashboard.server import dashboard_url

    console.print(
        f"Dashboard: run `fitray dashboard`, then open {dashboard_url(settings.dashboard_port)} "
        "(Exercises Analysis, Pipeline health); `fitray dashboard --lite` draws both pages "
        "on the server instead (no JavaScript, the numbers at once)",
        soft_wrap=True,
    )
    console.print(
        f"Report: {settings.report_folder / REPORT_FILE} (refreshed after every load); "
        "pipeline health in the terminal: `fitray report`",
        soft_wrap=True,
    )
