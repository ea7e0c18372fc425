"""The calorie table behind API-Ninjas-style calorie APIs, as pure functions.

``data/activities.csv`` gives kcal per hour at 130, 155, 180 and 205 lb for 248 activities.
Between those weights we interpolate linearly; outside them we scale the nearest column in
proportion to weight, because kcal/hour is MET x body mass (the columns are proportional to
within rounding). Used by the local calorie service and by the in-process provider.
"""

from __future__ import annotations

import csv
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from fitray.exceptions import TerminalError

__all__ = ["TABLE_WEIGHTS_LB", "ActivityRow", "ActivityTable", "load_activity_table"]

TABLE_WEIGHTS_LB: tuple[int, ...] = (130, 155, 180, 205)
_COLUMNS = tuple(f"kcal_per_hour_{w}lb" for w in TABLE_WEIGHTS_LB)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    name: str
    kcal_per_hour_at: tuple[float, ...]  # one value per TABLE_WEIGHTS_LB

    def kcal_per_hour(self, weight_lb: float) -> float:
        weights, values = TABLE_WEIGHTS_LB, self.kcal_per_hour_at
        if weight_lb <= weights[0]:
            return values[0] * weight_lb / weights[0]
        if weight_lb >= weights[-1]:
            return values[-1] * weight_lb / weights[-1]
        i = bisect_left(weights, weight_lb)
        w0, w1, v0, v1 = weights[i - 1], weights[i], values[i - 1], values[i]
        return v0 + (v1 - v0) * (weight_lb - w0) / (w1 - w0)


class ActivityTable:
    """Activities in file order, matched like the API: case-insensitive substring."""

    def __init__(self, rows: list[ActivityRow]) -> None:
        self.rows = rows
        self._lowered = [(row.name.lower(), row) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def names(self) -> list[str]:
        return [row.name for row in self.rows]

    def search(self, activity: str) -> list[ActivityRow]:
        needle = activity.strip().lower()
        if not needle:
            return []
        return [row for lowered, row in self._lowered if needle in lowered]


def load_activity_table(path: Path) -> ActivityTable:
    """Read the CSV; a missing file or a bad row is one clear :class:`TerminalError`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"activity", *_COLUMNS} - set(reader.fieldnames or ())
            if missing:
                raise TerminalError(f"{path}: missing columns {sorted(missing)}")
            return ActivityTable([_parse_row(path, n, rec) for n, rec in enumerate(reader, 2)])
    except OSError as exc:
        raise TerminalError(f"cannot read calorie table {path}: {exc.strerror}") from exc


def _parse_row(path: Path, line: int, record: dict[str, str]) -> ActivityRow:
    name = (record["activity"] or "").strip()
    try:
        values = tuple(float(record[column]) for column in _COLUMNS)
    except (TypeError, ValueError):
        raise TerminalError(f"{path}:{line}: non-numeric kcal value for {name!r}") from None
    if not name or any(v <= 0 for v in values):
        raise TerminalError(f"{path}:{line}: empty activity or non-positive kcal value")
    return ActivityRow(name, values)
