"""``fitray mapping``: inspect how exercise titles resolve to calorie-API activities.

``fitray mapping check`` resolves every distinct title of the exercise CSV and exits 0 when
all resolve (exactly, by normalisation or by fallback), 1 when any stays unresolved, so CI
can gate a new mapping or dataset on it. The guesses worth a person's look (fallbacks, and
members picked within an activity family) are listed with the mapping value next to the
chosen activity. Bad files raise a one-line ``TerminalError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from rich.table import Table

from fitray.calories.resolve import ActivityResolver, MappingReport, Resolution, check_mapping
from fitray.cli._console import console, err_console
from fitray.config import get_settings

__all__ = ["Show", "app"]

app = typer.Typer(
    help="Exercise title -> calorie activity mapping: check how every title resolves.",
    no_args_is_help=True,
)


class Show(StrEnum):
    """Which titles to list after the counts."""

    none = "none"
    fallback = "fallback"  # fallback and unresolved titles: the ones worth a look
    family = "family"  # normalised matches that picked a member of an activity family
    unresolved = "unresolved"
    all = "all"


class _Row(TypedDict):
    """One listed title; ``--json`` prints these as they are."""

    title: str
    method: str  # exact | normalised | fallback | unresolved
    mapping_value: str | None  # as written in the mapping; None when the title has none
    activity: str  # empty when unresolved
    family: str | None  # the activity family a normalised match picked within
    detail: str


@app.callback()
def _group() -> None:
    """Keeps ``check`` a sub-command even while it is the only one."""


_SHOWN: dict[Show, tuple[str, ...]] = {
    Show.none: (),
    Show.fallback: ("fallback", "unresolved"),
    Show.family: ("family",),
    Show.unresolved: ("unresolved",),
    Show.all: ("exact", "normalised", "fallback", "unresolved"),
}
_LABELS = {
    "exact": "resolved exactly",
    "normalised": "resolved by normalisation",
    "fallback": "resolved by fallback",
    "unresolved": "unresolved",
}


@app.command("check")
def check(
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping JSON (default: FITRAY_MAPPING_PATH).")
    ] = None,
    exercises: Annotated[
        Path | None,
        typer.Option(help="Exercise CSV (default: FITRAY_EXERCISES_CSV)."),
    ] = None,
    activities: Annotated[
        Path | None,
        typer.Option(help="Calorie table CSV (default: FITRAY_ACTIVITIES_CSV)."),
    ] = None,
    show: Annotated[
        Show,
        typer.Option(
            help="Titles to list, each with its mapping value and activity: 'fallback' lists "
            "fallback and unresolved titles, 'family' the normalised ones resolved within an "
            "activity family (running, boxing...), 'all' every title."
        ),
    ] = Show.fallback,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Resolve every exercise title; exit 0 if all resolve, 1 if any stays unresolved."""
    settings = get_settings()
    resolver = ActivityResolver.from_files(
        mapping or settings.mapping_path,
        exercises or settings.exercises_file,
        activities or settings.activities_file,
    )
    report = check_mapping(resolver, resolver.exercise_titles)
    rows = _rows(report, _SHOWN[show], resolver.mapping_value)
    if as_json:
        console.out(json.dumps(_as_json(report, rows), indent=2, ensure_ascii=False))
    else:
        _print(report, rows)
    if report.unresolved:
        err_console.print(f"{len(report.unresolved)} title(s) unresolved", style="red")
        raise typer.Exit(1)


def _rows(
    report: MappingReport, shown: tuple[str, ...], value_of: Callable[[str], str | None]
) -> list[_Row]:
    rows = [_row(r, value_of(r.title)) for r in report.resolutions if _listed(r, shown)]
    if "unresolved" in shown:
        rows += [
            {
                "title": title,
                "method": "unresolved",
                "mapping_value": value_of(title),
                "activity": "",
                "family": None,
                "detail": reason,
            }
            for title, reason in report.unresolved
        ]
    return rows


def _listed(resolution: Resolution, shown: tuple[str, ...]) -> bool:
    return resolution.method in shown or ("family" in shown and resolution.family is not None)


def _row(resolution: Resolution, value: str | None) -> _Row:
    return {
        "title": resolution.title,
        "method": resolution.method,
        "mapping_value": value,
        "activity": resolution.activity,
        "family": resolution.family,
        "detail": resolution.detail,
    }


def _family_count(report: MappingReport) -> int:
    return sum(r.family is not None for r in report.resolutions)


def _as_json(report: MappingReport, rows: list[_Row]) -> dict[str, Any]:
    return {
        "total": report.total,
        "counts": report.counts,
        "family_matches": _family_count(report),
        "titles": rows,
    }


def _print(report: MappingReport, rows: list[_Row]) -> None:
    counts = Table("resolution", "titles", title="exercise title -> calorie activity")
    for method, count in report.counts.items():
        style = "red" if method == "unresolved" and count else None
        counts.add_row(_LABELS[method], str(count), style=style)
        if method == "normalised":
            counts.add_row("  of which within an activity family", str(_family_count(report)))
    counts.add_row("total (distinct titles)", str(report.total), style="bold")
    console.print(counts)
    if rows:
        listing = Table("title", "method", "mapping value", "activity", "why")
        for row in rows:
            method = f"{row['method']} (family {row['family']})" if row["family"] else row["method"]
            value = row["mapping_value"]
            shown = "(none)" if value is None else repr(value)
            listing.add_row(
                row["title"], method, shown, row["activity"], _why(row["detail"], value)
            )
        console.print(listing)


def _why(detail: str, value: str | None) -> str:
    """The detail without the mapping value it starts with: the table shows it already."""
    prefix = f"mapping value {value!r}"
    if value is not None and detail.startswith(prefix):
        return detail.removeprefix(prefix).removeprefix(":").strip()
    return detail
