"""Exercise title -> calorie-API activity name, robust to the LLM-written mapping.

The calorie API matches ``activity`` as a case-insensitive substring, so a vague name returns
several activities. :class:`ActivityResolver` therefore always answers a *full* table name;
the client picks the API element whose name equals it case-insensitively. Three methods,
tried in order for a title:

``exact``
    the mapping value equals a table name, case-insensitive and whitespace-trimmed.
``normalised``
    for each candidate answer (the value, then what a sentence answer quotes, see
    :func:`~fitray.calories.normalise.answer_candidates`), in turn: its key equals a table
    name's key; its loose key (alphanumerics only) equals one; its key is a substring of
    table names' keys (as the API would match); its loose key is a substring. When several
    names match, the rule is: names that *start* with the candidate first, then the
    shortest, then table order. Substrings need at least ``MIN_SUBSTRING_CHARS`` characters.
``fallback``
    the mapping says nothing usable (absent, empty, or names no activity) but the title is
    in the exercise CSV: the first rule of ``FALLBACK_RULES`` matching its Type, Equipment
    and Level, whose activity the table has, gives the activity.

Anything else raises :class:`UnresolvedActivity` (the pipeline dead-letters the event).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from fitray.calories.normalise import activity_key, answer_candidates, loose_key, title_key
from fitray.calories.table import ActivityTable, load_activity_table
from fitray.exceptions import TerminalError
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

MIN_SUBSTRING_CHARS = 3


@dataclass(frozen=True)
class Resolution:
    title: str  # the title as spelled in the data (CSV first, else the mapping)
    activity: str  # always a full name from the calorie table
    method: ResolutionMethod
    detail: str  # why, for humans: the mapping value and the rule applied


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
        self._names = table.names
        self._by_name = set(self._names)
        self._by_lower = {name.strip().casefold(): name for name in reversed(self._names)}
        self._keys = [(activity_key(name), loose_key(name), name) for name in self._names]
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
    def exercise_titles(self) -> list[str]:
        """Distinct titles of the exercise CSV, in file order."""
        return [profile.title for profile in self._exercises.values()]

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
        if value is not None and value.strip():
            exact = self._by_lower.get(value.strip().casefold())
            if exact:
                return Resolution(canonical, exact, "exact", f"mapping value {value!r}")
            matched = self._match(value)
            if matched:
                return Resolution(canonical, matched[0], "normalised", matched[1])
            why = f"mapping value {value!r} names no activity in the calorie table"
        elif mapped_title is not None:
            why = "mapping value is empty"
        else:
            why = "title is not in the mapping"
        if profile is None:
            raise UnresolvedActivity(title, f"{why}, and it is not in the exercise CSV")
        return self._fallback(canonical, profile, why)

    def _match(self, value: str) -> tuple[str, str] | None:
        for candidate in answer_candidates(value):
            key, loose = activity_key(candidate), loose_key(candidate)
            tiers = (
                ("equals", [n for k, _, n in self._keys if k == key]),
                ("equals (punctuation ignored)", [n for _, lk, n in self._keys if lk == loose]),
                ("is part of", self._containing(key, 0)),
                ("is part of (punctuation ignored)", self._containing(loose, 1)),
            )
            for how, names in tiers:
                if names:
                    best = _best(names, key)
                    note = f" (best of {len(names)})" if len(names) > 1 else ""
                    return best, f"mapping value {value!r}: {candidate.strip()!r} {how}{note}"
        return None

    def _containing(self, needle: str, field: int) -> list[str]:
        if len(needle) < MIN_SUBSTRING_CHARS:
            return []
        return [entry[2] for entry in self._keys if needle in entry[field]]

    def _fallback(self, title: str, profile: ExerciseProfile, why: str) -> Resolution:
        for rule in self._rules:
            if rule.activity in self._by_name and rule.matches(profile):
                fields = f"Type={profile.type!r} Equipment={profile.equipment!r}"
                detail = f"{why}; fallback on {fields} Level={profile.level!r}"
                return Resolution(title, rule.activity, "fallback", detail)
        raise UnresolvedActivity(title, f"{why}, and no fallback rule fits it and the table")


def _best(names: list[str], key: str) -> str:
    """Several names match: those starting with the candidate, then shortest, then first."""
    order = {name: i for i, name in enumerate(names)}
    return min(names, key=lambda n: (not activity_key(n).startswith(key), len(n), order[n]))


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


_EXERCISE_COLUMNS = ("Title", "Type", "BodyPart", "Equipment", "Level")


def load_exercise_profiles(path: Path) -> dict[str, ExerciseProfile]:
    """Exercise CSV rows by title; of duplicate titles the first row wins."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = set(_EXERCISE_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise MappingFileError(f"exercise CSV {path}: missing columns {sorted(missing)}")
            profiles: dict[str, ExerciseProfile] = {}
            for row in reader:
                title, type_, body, equipment, level = (
                    (row[c] or "").strip() for c in _EXERCISE_COLUMNS
                )
                profile = ExerciseProfile(title, type_, body, equipment, level)
                if title:
                    profiles.setdefault(title, profile)
            return profiles
    except OSError as exc:
        raise MappingFileError(f"cannot read exercise CSV {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MappingFileError(f"exercise CSV {path} is not UTF-8: {exc.reason}") from exc
