"""``fitray report``: the "Pipeline health" page in the terminal, or as JSON for a script.

It prints what every store answered, then exits 1 with one line if any store did not (the
tables still show the others), so a cron job or a CI step can act on it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from fitray.cli._console import console
from fitray.config import get_settings

if TYPE_CHECKING:
    from fitray.dashboard.health import Health

__all__ = ["report"]

# finding kind -> (mark, style); texts are Text objects, never markup: a "[...]" stays as is
MARKS = {
    "ok": ("ok", "green"),
    "mismatch": ("!", "yellow"),
    "note": ("i", ""),
    "unknown": ("?", "red"),
}


def report(
    window_hours: Annotated[
        float,
        typer.Option(
            "--window-hours",
            min=0.01,
            help="Reconcile the events of the last N hours (event time).",
        ),
    ] = 24.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    loads: Annotated[
        int, typer.Option("--loads", min=1, max=1000, help="How many recent loads to list.")
    ] = 10,
) -> None:
    """Pipeline health: loads, freshness, and Kafka / MongoDB / warehouse / dead-letter counts
    for the same window, reconciled (exit 1 if a store cannot be read)."""
    from fitray.dashboard.exceptions import HealthIncomplete
    from fitray.dashboard.health import fetch_health

    health = fetch_health(get_settings(), window_hours, history=loads)
    if as_json:
        typer.echo(json.dumps(health.to_dict(), indent=2))
    else:
        _print_tables(health)
    if health.problems:
        raise HealthIncomplete("report incomplete: " + "; ".join(health.problems))


def _print_tables(health: Health) -> None:
    wh, k = health.warehouse, health.kafka
    for table in (_freshness(health), _stages(health), _reconciliation(health)):
        console.print(table)
    _print_or_say(_dead_letters(health), "" if k.problem else "dead letters: none in the window")
    from fitray.dashboard.health import UNREAD_WAREHOUSE

    unread = UNREAD_WAREHOUSE if wh.problem else None
    _print_or_say(_loads(health), f"loads: {unread or wh.empty or 'none yet'}")


def _freshness(health: Health) -> Table:
    from fitray.dashboard.reconcile import format_age

    wh = health.warehouse
    table = Table("", "age", "at (UTC)", title="freshness")
    for label, when in (
        ("newest loaded event", wh.newest_event_at),
        ("last load", wh.last_load_at),
    ):
        table.add_row(label, format_age(health.age_s(when)), _when(when))
    return table


def _stages(health: Health) -> Table:
    w, wh, k, m = health.window, health.warehouse, health.kafka, health.mongo
    title = f"last {w.hours:g} h of event time ({_when(w.start)} to {_when(w.end)} UTC)"
    table = Table("stage", "count", "note", title=title)
    lag = f"consumer lag {k.lag or 0:,} ({k.group})"
    table.add_row(f"Kafka {k.topic}", *_count(k.messages, k.problem, lag))
    table.add_row(f"MongoDB {m.database}.{m.collection}", *_count(m.documents, m.problem, ""))
    table.add_row(f"warehouse {wh.backend}", *_count(wh.rows, wh.problem, wh.empty or ""))
    letters = f"{k.dead_letter_total:,}" + ("" if k.dead_letters_complete else "+")
    from fitray.dashboard.health import UNREAD_KAFKA

    unread = UNREAD_KAFKA if k.problem else None
    table.add_row(f"dead letters {k.dead_letter_topic}", *_count(0, unread, "", letters))
    return table


def _reconciliation(health: Health) -> Table:
    table = Table("", "", show_header=False, title="reconciliation")
    for finding in health.findings:
        mark, style = MARKS[finding.kind]
        table.add_row(Text(mark, style=style), Text(finding.text))
    return table


def _dead_letters(health: Health) -> Table:
    from fitray.dashboard.reconcile import dead_letter_rows

    table = Table("stage", "code", "count", "meaning", title="dead letters by stage and code")
    for row in dead_letter_rows(health.kafka.dead_letters):
        stage, code, meaning = (Text(str(row[c])) for c in ("stage", "code", "meaning"))
        table.add_row(stage, code, f"{row['count']:,}", meaning)
    return table


def _loads(health: Health) -> Table:
    wh = health.warehouse
    table = Table(
        "load", "finished (UTC)", "duration", "read", "inserted", "skipped (present)",
        "watermark after (UTC)", title=f"loads (latest {len(wh.loads)} of {wh.total_loads:,})",
    )  # fmt: skip
    for load in wh.loads:
        table.add_row(
            load.load_id, _when(load.finished_at), f"{load.duration_s:.1f} s",
            f"{load.documents_read:,}", f"{load.rows_inserted:,}", f"{load.rows_skipped:,}",
            _when(load.watermark_after),
        )  # fmt: skip
    return table


def _print_or_say(table: Table, empty: str) -> None:
    if table.row_count:
        console.print(table)
    elif empty:
        console.print(Text(empty), highlight=False)


def _count(
    value: int | None, problem: str | None, note: str, text: str | None = None
) -> tuple[str, Text]:
    if problem:
        return "-", Text(problem, style="red")
    return (text or f"{value or 0:,}"), Text(note)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"
