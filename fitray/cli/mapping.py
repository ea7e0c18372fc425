"""``fitray mapping``: inspect how exercise titles resolve to calorie-API activities.

``fitray mapping check`` resolves every distinct title of the exercise CSV and exits 0 when
all resolve (exactly, by normalisation or by fallback), 1 when any stays unresolved, so CI
can gate a new mapping or dataset on it. Bad files raise a one-line ``TerminalError``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fitray.calories.resolve import ActivityResolver, MappingReport, check_mapping
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
    unresolved = "unresolved"
    all = "all"


@app.callback()
def _group() -> None:
    """Keeps ``check`` a sub-command even while it is the only one."""


_SHOWN: dict[Show, tuple[str, ...]] = {
    Show.none: (),
    Show.fallback: ("fallback", "unresolved"),
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
        typer.Option(help="Exercise CSV (default: FITRAY_DATA_DIR/megaGymDataset.csv)."),
    ] = None,
    activities: Annotated[
        Path | None,
        typer.Option(help="Calorie table CSV (default: FITRAY_DATA_DIR/activities.csv)."),
    ] = None,
    show: Annotated[
        Show, typer.Option(help="Titles to list: 'fallback' lists fallback and unresolved ones.")
    ] = Show.fallback,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Resolve every exercise title; exit 0 if all resolve, 1 if any stays unresolved."""
    settings = get_settings()
    resolver = ActivityResolver.from_files(
        mapping or settings.mapping_path,
        exercises or settings.data_dir / "megaGymDataset.csv",
        activities or settings.data_dir / "activities.csv",
    )
    report = check_mapping(resolver, resolver.exercise_titles)
    rows = _rows(report, _SHOWN[show])
    if as_json:
        console.out(json.dumps(_as_json(report, rows), indent=2, ensure_ascii=False))
    else:
        _print(report, rows)
    if report.unresolved:
        err_console.print(f"{len(report.unresolved)} title(s) unresolved", style="red")
        raise typer.Exit(1)


def _rows(report: MappingReport, shown: tuple[str, ...]) -> list[dict[str, str]]:
    rows = [
        {"title": r.title, "method": r.method, "activity": r.activity, "detail": r.detail}
        for r in report.resolutions
        if r.method in shown
    ]
    if "unresolved" in shown:
        rows += [
            {"title": title, "method": "unresolved", "activity": "", "detail": reason}
            for title, reason in report.unresolved
        ]
    return rows


def _as_json(report: MappingReport, rows: list[dict[str, str]]) -> dict[str, Any]:
    return {"total": report.total, "counts": report.counts, "titles": rows}


def _print(report: MappingReport, rows: list[dict[str, str]]) -> None:
    counts = Table("resolution", "titles", title="exercise title -> calorie activity")
    for method, count in report.counts.items():
        style = "red" if method == "unresolved" and count else None
        counts.add_row(_LABELS[method], str(count), style=style)
    counts.add_row("total (distinct titles)", str(report.total), style="bold")
    console.print(counts)
    if rows:
        listing = Table("title", "method", "activity", "why")
        for row in rows:
            listing.add_row(row["title"], row["method"], row["activity"], row["detail"])
        console.print(listing)
