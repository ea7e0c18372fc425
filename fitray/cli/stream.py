"""``fitray stream run|consume``: the stream pipeline, end to end or as one consumer process."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.cli._signals import GracefulStop
from fitray.config import get_settings
from fitray.stream.summary import StreamSummary

__all__ = ["app"]


class Source(StrEnum):
    generator = "generator"  # seeded random workouts, like the original
    topic = "topic"  # the raw topic (FITRAY_KAFKA_RAW_TOPIC), until idle


class ProviderChoice(StrEnum):
    http = "http"
    table = "table"


app = typer.Typer(
    help="Stream workouts: generate or read them, enrich on Ray, through Kafka into MongoDB.",
    no_args_is_help=True,
)


def _positive(value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise typer.BadParameter(f"must be more than 0, got {value:g}")
    return value


@app.command()
def run(
    count: Annotated[
        int, typer.Option(min=0, help="Workouts to generate; 0: no limit (until stopped).")
    ] = 2000,
    duration: Annotated[
        float | None, typer.Option(callback=_positive, help="Stop generating after seconds.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(callback=_positive, help="Workouts per second (none: max).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same event_ids.")] = 0,
    source: Annotated[Source, typer.Option(help="Where workouts come from.")] = Source.generator,
    provider: Annotated[
        ProviderChoice, typer.Option(help="http: the calorie API; table: the local table.")
    ] = ProviderChoice.http,
    enrich_actors: Annotated[int | None, typer.Option(min=1, help="Enrichment actors.")] = None,
    consumers: Annotated[
        int | None, typer.Option(min=1, help="Consumer actors in the group.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Workouts per Ray call.")] = None,
    max_in_flight: Annotated[
        int | None, typer.Option(min=1, help="Batches awaiting Kafka (backpressure bound).")
    ] = None,
    consume: Annotated[bool, typer.Option(help="Also run the consumer pool.")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (progress stays on stderr).")
    ] = False,
) -> None:
    """Run the whole pipeline on the Ray cluster, with a progress bar and a summary.

    Ctrl-C or SIGTERM stops taking new workouts, finishes what is in flight, prints the
    summary and exits 130 / 143; a second one stops at once."""
    from fitray.stream.pipeline import StreamOptions, StreamPipeline

    limit = None if source is Source.topic or count == 0 else count
    options = StreamOptions(
        count=limit,
        duration_s=duration,
        rate_per_s=rate,
        seed=seed,
        source=source.value,
        provider=provider.value,
        consume=consume,
        enrich_actors=enrich_actors,
        consumer_actors=consumers,
        batch_size=batch_size,
        max_in_flight=max_in_flight,
    )
    pipeline = StreamPipeline(get_settings(), options)
    # stdout is for the summary alone (--json): Ray prints its cluster warnings there
    with contextlib.redirect_stdout(sys.stderr):
        pipeline.start()  # each server that is down: one clear error, before any progress bar
        with GracefulStop(pipeline.stop) as stop, _progress(limit) as update:
            summary = pipeline.run(update)
    _render(summary, "fitray stream", as_json)
    if stop.exit_code:
        raise typer.Exit(stop.exit_code)


@contextmanager
def _progress(total: int | None) -> Iterator[Callable[[StreamSummary], None]]:
    """Generated and stored against the total (duplicates apart, so a re-run never passes
    it), and what the run waits for, if anything."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=err_console) as progress:
        generated = progress.add_task("generated", total=total)
        stored = progress.add_task("stored", total=total)
        skipped = progress.add_task("duplicates skipped", total=None, visible=False)
        waiting = progress.add_task("", total=None, visible=False)

        shown: list[str] = [""]

        def update(summary: StreamSummary) -> None:
            progress.update(generated, completed=summary.generated)
            progress.update(stored, completed=summary.stored)
            progress.update(skipped, completed=summary.duplicates, visible=summary.duplicates > 0)
            note = summary.waiting or ""
            progress.update(waiting, description=f"[yellow]{note}", visible=bool(note))
            if note != shown[0]:  # also as a line: logs and non-terminals see every change
                progress.console.print(
                    f"[yellow]{note}" if note else "[green]resumed: nothing is waited for now",
                    highlight=False,
                    soft_wrap=True,
                )
                shown[0] = note

        yield update


@app.command("consume")
def consume_command(
    topic: Annotated[str | None, typer.Option(help="Enriched topic to read.")] = None,
    group: Annotated[str | None, typer.Option(help="Consumer group id.")] = None,
    database: Annotated[str | None, typer.Option(help="MongoDB database.")] = None,
    dead_letter_topic: Annotated[str | None, typer.Option(help="Dead-letter topic.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """One consumer in this process until Ctrl-C or SIGTERM: it finishes the batch in hand,
    commits, leaves the group, prints the summary and exits 130 / 143."""
    from fitray.clients.kafka import ensure_topics
    from fitray.stream.consumer import ConsumerWorker, StepReport, run_until_stopped
    from fitray.stream.supervision import StoreWatch, Waits

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    worker = ConsumerWorker(
        settings, topic, group_id=group, database=database, dead_letter_topic=dead_letter_topic
    )
    ensure_topics(settings.kafka_bootstrap_servers, [worker.topic], partitions=1)  # reachable?
    summary, waits, stopping = StreamSummary(), Waits(), threading.Event()
    store = StoreWatch(waits, settings.stream_store_max_wait_s)

    def on_step(report: StepReport) -> None:
        summary.add_step(report)
        before = waits.describe()
        store.observe(report.waiting_for, report.retrying, report.committed)
        if (now := waits.describe()) and now != before:
            err_console.print(f"[yellow]{now}", highlight=False, soft_wrap=True)

    def stop(name: str) -> None:
        summary.stopped_by = name
        stopping.set()

    summary.start()
    err_console.print(f"consuming {worker.topic} as group {worker.group_id}; Ctrl-C stops")
    with GracefulStop(stop, "the batch in hand") as signals:
        run_until_stopped(worker, stopping, on_step)
    summary.finish()
    _render(summary, "fitray stream consume", as_json)
    if signals.exit_code:
        raise typer.Exit(signals.exit_code)


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
