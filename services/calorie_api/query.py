"""The calorie API's parameters and answer, as pure functions (no I/O, easy to property-test).

Parsing is strict on purpose: a client bug (``weight=abc``, ``weight=``, ``duration=0``)
should surface as a 400 that names the parameter and its allowed range, never as a guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fitray.calories.table import ActivityRow
from fitray.exceptions import TerminalError

__all__ = [
    "ACTIVITY_MAX_CHARS",
    "DEFAULT_DURATION_MIN",
    "DEFAULT_WEIGHT_LB",
    "DURATION_MAX_MIN",
    "WEIGHT_RANGE_LB",
    "CalorieQuery",
    "InvalidQueryError",
    "answer",
    "parse_query",
]

ACTIVITY_MAX_CHARS = 200
DEFAULT_WEIGHT_LB = 160
WEIGHT_RANGE_LB = (50, 500)
DEFAULT_DURATION_MIN = 60
DURATION_MAX_MIN = 1440

# Plain decimal numbers only: float() would also take "nan", "inf" and "1_000".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class InvalidQueryError(TerminalError):
    """A missing, malformed or out-of-range parameter; the message is the 400's ``error``."""


@dataclass(frozen=True, slots=True)
class CalorieQuery:
    activity: str
    weight_lb: float | int
    duration_min: float | int


def parse_query(params: Mapping[str, str]) -> CalorieQuery:
    """Validate ``activity``, ``weight`` (lb) and ``duration`` (minutes) of one request."""
    return CalorieQuery(
        activity=_parse_activity(params.get("activity")),
        weight_lb=_parse_weight(params.get("weight")),
        duration_min=_parse_duration(params.get("duration")),
    )


def answer(rows: Iterable[ActivityRow], query: CalorieQuery) -> list[dict[str, Any]]:
    """One API-Ninjas-shaped element per matching activity, rounded to ints like the API."""
    result = []
    for row in rows:
        kcal_per_hour = row.kcal_per_hour(query.weight_lb)
        result.append(
            {
                "name": row.name,
                "calories_per_hour": round(kcal_per_hour),
                "duration_minutes": query.duration_min,
                "total_calories": round(kcal_per_hour * query.duration_min / 60),
            }
        )
    return result


def _parse_activity(raw: str | None) -> str:
    if raw is None:
        raise InvalidQueryError(
            f"missing parameter activity: give an activity name of 1 to {ACTIVITY_MAX_CHARS} "
            "characters, e.g. ?activity=running"
        )
    if len(raw) > ACTIVITY_MAX_CHARS:
        raise InvalidQueryError(
            f"activity is {len(raw)} characters long; the maximum is {ACTIVITY_MAX_CHARS}"
        )
    if not raw.strip():
        raise InvalidQueryError(
            f"activity must not be empty: give 1 to {ACTIVITY_MAX_CHARS} characters"
        )
    return raw.strip()


def _parse_weight(raw: str | None) -> float | int:
    if raw is None:
        return DEFAULT_WEIGHT_LB
    low, high = WEIGHT_RANGE_LB
    value = _parse_number("weight", raw, f"a weight in lb from {low} to {high}")
    if not low <= value <= high:
        raise InvalidQueryError(f"weight {raw!r} is out of range: it must be {low} to {high} lb")
    return value


def _parse_duration(raw: str | None) -> float | int:
    if raw is None:
        return DEFAULT_DURATION_MIN
    allowed = f"a duration in minutes greater than 0 and at most {DURATION_MAX_MIN}"
    value = _parse_number("duration", raw, allowed)
    if not 0 < value <= DURATION_MAX_MIN:
        raise InvalidQueryError(f"duration {raw!r} is out of range: it must be {allowed}")
    return value


def _parse_number(name: str, raw: str, allowed: str) -> float | int:
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        raise InvalidQueryError(f"{name} {raw[:40]!r} is not a number: it must be {allowed}")
    value = float(text)
    if not math.isfinite(value):  # "1e999" matches the pattern but overflows to inf
        raise InvalidQueryError(f"{name} {raw[:40]!r} is out of range: it must be {allowed}")
    return int(value) if value.is_integer() else value
