"""Exercise title -> calorie-API activity name, robust to the LLM-written mapping.

The calorie API matches ``activity`` as a case-insensitive substring, so a vague name returns
several activities. :class:`ActivityResolver` therefore always answers a *full* table name;
the client picks the API element whose name equals it case-insensitively. Three methods,
tried in order for a title; the first two depend on the mapping value only through
:func:`~fitray.calories.normalise.trim_value`, so "X", "X." and "X…" resolve alike:

``exact``
    the mapping value is a table name, up to case, spacing, unicode form, quotes and
    punctuation at its ends (their :func:`~fitray.calories.normalise.activity_key` agree).
``normalised``
    the value means a table name by the rules of :mod:`fitray.calories.match`: loose
    equality, what a sentence quotes, a part of a name, or a member of an activity family
    the value names or mentions (``Resolution.family`` then says which).
``fallback``
    the mapping says nothing usable (absent, empty, or names no activity) but the title is
    in the exercise CSV: the first rule of ``FALLBACK_RULES`` matching its Type, Equipment
    and Level, whose activity the table has, gives the activity.

Anything else raises :class:`UnresolvedActivity` (the pipeline dead-letters the event).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from fitray.calories.match import MIN_SUBSTRING_CHARS, ActivityMatcher
from fitray.calories.normalise import title_key, trim_value
from fitray.calories.table import ActivityTable, load_activity_table
from fitray.exceptions import TerminalError
from fitray.exercises import read_exercises
from fitray.schema import ResolutionMethod

__all__ = [
    "FALLBACK_RULES",
    "MIN_SUBSTRING_CHARS",
    "ActivityResolver",
    "ExerciseProfile",
    "FallbackRule",
    "MappingFileError",
    "MappingReport",
    "Resolution",
    "UnresolvedActivity",
    "check_mapping",
    "load_exercise_profiles",
    "load_mapping",
]


@dataclass(frozen=True)
class Resolution:
    title: str  # the title as spelled in the data (CSV first, else the mapping)
    activity: str  # always a full name from the calorie table
    method: ResolutionMethod
    detail: str  # why, for humans: the mapping value and the rule applied
    family: str | None = None  # the activity family a normalised match chose within


@dataclass(frozen=True)
class ExerciseProfile:
    """The columns of the exercise CSV that the fallback rules look at."""

    title: str
    type: str
    body_part: str
    equipment: str
    level: str


class MappingFileError(TerminalError):
    """The mapping or the exercise CSV is missing or malformed; names the file and the fix."""


class UnresolvedActivity(TerminalError):
    """No activity for an exercise title: not in the mapping nor covered by a fallback."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__(f"no calorie activity for exercise {title!r}: {reason}")
        self.title = title
        self.reason = reason


@dataclass(frozen=True)
class FallbackRule:
    """Matches an exercise when every field given equals its own (case-insensitive)."""

    activity: str
    type: str | None = None
    equipment: str | None = None
    level: str | None = None

    def matches(self, profile: ExerciseProfile) -> bool:
        wanted = [(self.type, profile.type), (self.equipment, profile.equipment)]
        wanted.append((self.level, profile.level))
        return all(w is None or w.casefold() == got.casefold() for w, got in wanted)


_CALISTHENICS_VIGOROUS = "Calisthenics, vigorous, pushups, situps\u2026"
_LIFTING_VIGOROUS = "Weight lifting, body building, vigorous"

# First match wins. Bodyweight strength work is calisthenics; loaded strength work is weight
# lifting; Expert level (and the heavy disciplines) take the vigorous variant. The last rule
# catches any Type the data may add later.
FALLBACK_RULES: tuple[FallbackRule, ...] = (
    FallbackRule("Mild stretching", type="Stretching"),
    FallbackRule(_CALISTHENICS_VIGOROUS, type="Plyometrics"),
    FallbackRule("Stationary cycling, moderate", type="Cardio", equipment="Machine"),
    FallbackRule("Aerobics, general", type="Cardio"),
    FallbackRule(_CALISTHENICS_VIGOROUS, type="Strength", equipment="Body Only", level="Expert"),
    FallbackRule("Calisthenics, light", type="Strength", equipment="Body Only"),
    FallbackRule(_LIFTING_VIGOROUS, type="Strength", level="Expert"),
    FallbackRule("Weight lifting, light workout", type="Strength"),
    FallbackRule(_LIFTING_VIGOROUS, type="Powerlifting"),
    FallbackRule(_LIFTING_VIGOROUS, type="Olympic Weightlifting"),
    FallbackRule(_LIFTING_VIGOROUS, type="Strongman"),
    FallbackRule("Health club exercise"),
)


class ActivityResolver:
    """Resolves exercise titles against one calorie table; pure and picklable (Ray-safe)."""

    def __init__(
        self,
        table: ActivityTable,
        mapping: Mapping[str, str | None],
        exercises: Mapping[str, ExerciseProfile],
        rules: tuple[FallbackRule, ...] = FALLBACK_RULES,
    ) -> None:
        self._by_name = set(table.names)
        self._matcher = ActivityMatcher(table)
        # Titles that differ only in case or spacing: the first one wins, in both inputs.
        self._mapping: dict[str, tuple[str, str | None]] = {}
        for title, value in mapping.items():
            self._mapping.setdefault(title_key(title), (title, value))
        self._exercises: dict[str, ExerciseProfile] = {}
        for title, profile in exercises.items():
            self._exercises.setdefault(title_key(title), profile)
        self._rules = rules
        self._memo: dict[str, Resolution] = {}

    @classmethod
    def from_files(
        cls, mapping_path: Path, exercises_csv: Path, activities_csv: Path
    ) -> ActivityResolver:
        """The one place that reads files; each bad file is one :class:`TerminalError` line."""
        return cls(
            load_activity_table(activities_csv),
            load_mapping(mapping_path),
            load_exercise_profiles(exercises_csv),
        )

    @property
    def activity_count(self) -> int:
        """Activities of the calorie table: what a cache of calorie answers is sized by."""
        return len(self._by_name)

    @property
    def exercise_titles(self) -> list[str]:
        """Distinct titles of the exercise CSV, in file order."""
        return [profile.title for profile in self._exercises.values()]

    def mapping_value(self, title: str) -> str | None:
        """The mapping's value for ``title`` as written (None if absent or not text)."""
        return self._mapping.get(title_key(title), (None, None))[1]

    def resolve(self, title: str) -> Resolution:
        key = title_key(title)
        if not key:
            raise UnresolvedActivity(title, "the title is empty")
        if key not in self._memo:
            self._memo[key] = self._resolve(title, key)
        return self._memo[key]

    def _resolve(self, title: str, key: str) -> Resolution:
        mapped_title, value = self._mapping.get(key, (None, None))
        profile = self._exercises.get(key)
        canonical = profile.title if profile else mapped_title or title.strip()
        if value is not None and trim_value(value):
            match = self._matcher.match(value)
            if match and match.exact:
                return Resolution(canonical, match.activity, "exact", f"mapping value {value!r}")
            if match:
                detail = f"mapping value {value!r}: {match.how}"
                return Resolution(canonical, match.activity, "normalised", detail, match.family)
            why = f"mapping value {value!r} names no activity in the calorie table"
        elif mapped_title is not None:
            why = "mapping value is empty"
        else:
            why = "title is not in the mapping"
        if profile is None:
            raise UnresolvedActivity(title, f"{why}, and it is not in the exercise CSV")
        return self._fallback(canonical, profile, why)

    def _fallback(self, title: str, profile: ExerciseProfile, why: str) -> Resolution:
        for rule in self._rules:
            if rule.activity in self._by_name and rule.matches(profile):
                fields = f"Type={profile.type!r} Equipment={profile.equipment!r}"
                detail = f"{why}; fallback on {fields} Level={profile.level!r}"
                return Resolution(title, rule.activity, "fallback", detail)
        raise UnresolvedActivity(title, f"{why}, and no fallback rule fits it and the table")


@dataclass(frozen=True)
class MappingReport:
    """How every distinct title resolved; ``unresolved`` holds ``(title, reason)`` pairs."""

    resolutions: tuple[Resolution, ...] = ()
    unresolved: tuple[tuple[str, str], ...] = ()

    @property
    def total(self) -> int:
        return len(self.resolutions) + len(self.unresolved)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(get_args(ResolutionMethod), 0)
        for resolution in self.resolutions:
            counts[resolution.method] += 1
        return {**counts, "unresolved": len(self.unresolved)}

    def by_method(self, method: ResolutionMethod) -> list[Resolution]:
        return [r for r in self.resolutions if r.method == method]


def check_mapping(resolver: ActivityResolver, titles: Iterable[str]) -> MappingReport:
    """Resolve each distinct title (compared case-insensitively, first spelling kept)."""
    distinct: dict[str, str] = {}
    for title in titles:
        distinct.setdefault(title_key(title), title)
    resolutions: list[Resolution] = []
    unresolved: list[tuple[str, str]] = []
    for title in distinct.values():
        try:
            resolutions.append(resolver.resolve(title))
        except UnresolvedActivity as exc:
            unresolved.append((title, exc.reason))
    return MappingReport(tuple(resolutions), tuple(unresolved))


def load_mapping(path: Path) -> dict[str, str | None]:
    """The LLM-written ``{title: activity}`` JSON object; non-text values count as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingFileError(f"cannot read mapping {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MappingFileError(f"mapping {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingFileError(f"mapping {path}: expected a JSON object {{title: activity}}")
    return {str(k): v if isinstance(v, str) else None for k, v in data.items()}


def load_exercise_profiles(path: Path) -> dict[str, ExerciseProfile]:
    """Exercise CSV rows by title, as :func:`fitray.exercises.read_exercises` reads them."""
    table = read_exercises(path)
    columns = ("title", "exercise_type", "body_part", "equipment", "level")
    rows = zip(*(table[c].to_pylist() for c in columns), strict=True)
    return {row[0]: ExerciseProfile(*(value or "" for value in row)) for row in rows}
