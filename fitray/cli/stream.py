"""``fitray stream run|consume``: the stream pipeline, end to end or as one consumer process."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.config import get_settings
from fitray.stream.summary import StreamSummary

__all__ = ["app"]

app = typer.Typer(
    help="Stream workouts: generate or read them, enrich on Ray, through Kafka into MongoDB.",
    no_args_is_help=True,
)


@app.command()
def run(
    count: Annotated[
        int | None, typer.Option(help="Workouts to generate (none: no limit).")
    ] = 2000,
    duration: Annotated[float | None, typer.Option(help="Stop generating after seconds.")] = None,
    rate: Annotated[float | None, typer.Option(help="Workouts per second (none: max).")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same event_ids.")] = 0,
    source: Annotated[str, typer.Option(help="generator, or topic (the raw topic).")] = "generator",
    provider: Annotated[str, typer.Option(help="http (calorie API) or table (local).")] = "http",
    enrich_actors: Annotated[int | None, typer.Option(help="Enrichment actors.")] = None,
    consumers: Annotated[int | None, typer.Option(help="Consumer actors in the group.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Workouts per Ray call.")] = None,
    max_in_flight: Annotated[int | None, typer.Option(help="Batches awaiting Kafka.")] = None,
    consume: Annotated[bool, typer.Option(help="Also run the consumer pool.")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (progress stays on stderr).")
    ] = False,
) -> None:
    """Run the whole pipeline on the Ray cluster, with a progress bar and a summary."""
    from fitray.stream.pipeline import StreamOptions, StreamPipeline

    if source not in ("generator", "topic") or provider not in ("http", "table"):
        raise typer.BadParameter("--source is generator|topic, --provider is http|table")
    if source == "topic" or count == 0:
        count = None
    choices: dict[str, Any] = {"source": source, "provider": provider}
    options = StreamOptions(
        **choices,
        count=count,
        duration_s=duration,
        rate_per_s=rate,
        seed=seed,
        consume=consume,
        enrich_actors=enrich_actors,
        consumer_actors=consumers,
        batch_size=batch_size,
        max_in_flight=max_in_flight,
    )
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=err_console) as progress:
        generated = progress.add_task("generated", total=count)
        stored = progress.add_task("stored", total=count)

        def update(summary: StreamSummary) -> None:
            progress.update(generated, completed=summary.generated)
            progress.update(stored, completed=summary.stored + summary.duplicates)

        summary = StreamPipeline(get_settings(), options).run(update)
    _render(summary, "fitray stream", as_json)


@app.command("consume")
def consume_command(
    topic: Annotated[str | None, typer.Option(help="Enriched topic to read.")] = None,
    group: Annotated[str | None, typer.Option(help="Consumer group id.")] = None,
    database: Annotated[str | None, typer.Option(help="MongoDB database.")] = None,
    dead_letter_topic: Annotated[str | None, typer.Option(help="Dead-letter topic.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """One consumer in this process, until SIGINT/SIGTERM (finishes the batch, then leaves)."""
    from fitray.stream.consumer import ConsumerWorker, install_stop_signals, run_until_stopped

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    worker = ConsumerWorker(
        get_settings(),
        topic,
        group_id=group,
        database=database,
        dead_letter_topic=dead_letter_topic,
    )
    summary = StreamSummary()
    summary.start()
    err_console.print(f"consuming {worker.topic} as group {worker.group_id}; Ctrl-C stops")
    run_until_stopped(worker, install_stop_signals(), summary.add_step)
    summary.finish()
    _render(summary, "fitray stream consume", as_json)


def _render(summary: StreamSummary, title: str, as_json: bool = False) -> None:
    if as_json:
        console.out(json.dumps(summary.as_json()))
        return
    table = Table("count", "value", title=title)
    for name, value in summary.as_rows():
        table.add_row(name, value)
    console.print(table)


if __name__ == "__main__":
    app()
