"""``fitray dead-letters list|replay``: what was dead-lettered and why; replay what can be.

Both read the dead-letter topic (``FITRAY_KAFKA_DEAD_LETTER_TOPIC``) without committing
anything, filtered by stage, code and time window. ``replay`` re-publishes the selected
letters' workouts to the raw topic (same event_ids: replaying twice stores each once); run
``fitray stream run --source topic`` to enrich and store them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from fitray.cli._console import console, err_console
from fitray.config import get_settings
from fitray.dead_letters import CODE_MEANINGS, DeadLetterCode, Stage
from fitray.stream.replay import DeadLetterMessage, read_dead_letters, replay

__all__ = ["app"]

app = typer.Typer(
    help="Dead letters: list them by stage and code, replay them into the raw topic.",
    no_args_is_help=True,
)

_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _when(value: str | None) -> datetime | None:
    """ISO 8601 (UTC if no zone) or an age such as 30m, 2h, 1d."""
    if value is None:
        return None
    if match := _AGO.match(value.strip()):
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: float(amount)})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: give ISO 8601 (2026-11-26T10:00) or 30m/2h/1d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Since = Annotated[str | None, typer.Option(help="From this time: ISO 8601 or an age (2h, 1d).")]
Until = Annotated[str | None, typer.Option(help="Before this time: ISO 8601 or an age.")]
StageOption = Annotated[list[Stage] | None, typer.Option("--stage", help="Only these stages.")]
CodeOption = Annotated[
    list[DeadLetterCode] | None, typer.Option("--code", help="Only these codes (reasons).")
]


def _select(
    stage: list[Stage] | None,
    code: list[DeadLetterCode] | None,
    since: str | None,
    until: str | None,
) -> list[DeadLetterMessage]:
    settings = get_settings()
    stages, codes = set(stage or ()), set(code or ())
    return [
        letter
        for letter in read_dead_letters(
            settings, settings.kafka_dead_letter_topic, _when(since), _when(until)
        )
        if (not stages or letter.stage in stages) and (not codes or letter.code in codes)
    ]


@app.command("list")
def list_command(
    stage: StageOption = None,
    code: CodeOption = None,
    since: Since = None,
    until: Until = None,
    show: Annotated[int, typer.Option(min=0, help="Also list this many letters.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Count the dead letters by stage and code, with what each code means for you."""
    letters = _select(stage, code, since, until)
    counts = Counter((letter.stage, letter.code) for letter in letters)
    if as_json:
        by_stage: dict[str, dict[str, int]] = {}
        for (where, why), n in sorted(counts.items()):
            by_stage.setdefault(where, {})[why] = n
        console.out(json.dumps({"total": len(letters), "by_stage": by_stage}))
        return
    table = Table("stage", "code", "letters", "what it means", title="dead letters")
    for (where, why), n in sorted(counts.items()):
        meaning = CODE_MEANINGS.get(DeadLetterCode(why), "") if why in set(DeadLetterCode) else ""
        table.add_row(where, why, f"{n:,}", meaning)
    console.print(table)
    for letter in letters[:show]:
        console.print(
            f"{letter.at:%Y-%m-%d %H:%M:%S} {letter.stage}/{letter.code} key={letter.key} "
            f"partition {letter.partition} offset {letter.offset}: {letter.reason}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("replay")
def replay_command(
    stage: StageOption = None,
    code: CodeOption = None,
    since: Since = None,
    until: Until = None,
    dry_run: Annotated[
        bool, typer.Option(help="Say what would be replayed; send nothing.")
    ] = False,
) -> None:
    """Re-publish the selected letters' workouts to the raw topic (same event_ids)."""
    if not stage and not code and since is None:
        raise typer.BadParameter("choose what to replay: --code, --stage and/or --since")
    settings = get_settings()
    letters = _select(stage, code, since, until)
    raw_topic = settings.kafka_raw_topic
    if dry_run:
        err_console.print(f"would replay up to {len(letters):,} letter(s) into {raw_topic}")
        return
    replayed, skipped = replay(settings, letters, raw_topic, settings.kafka_dead_letter_topic)
    console.print(
        f"replayed {replayed:,} workout(s) into {raw_topic}; run `fitray stream run --source "
        "topic` to enrich and store them (each once)",
        highlight=False,
        soft_wrap=True,
    )
    for why, n in sorted(skipped.items()):
        console.print(f"not replayable: {n:,} ({why})", highlight=False, soft_wrap=True)
