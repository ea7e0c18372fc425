"""Which calorie-table name a mapping value means, if any: the normalised match.

The value is first trimmed (:func:`~fitray.calories.normalise.trim_value`), so a value with
and without trailing punctuation means the same name. Then, for each answer candidate (the
value, then what a sentence quotes, see :func:`~fitray.calories.normalise.answer_candidates`):

1. its key equals a name's key (an *exact* match when the candidate is the whole value);
2. its loose key (alphanumerics only) equals a name's;
3. it names a family: each of its words is a family word or a synonym of one ("Cycling",
   "jogging", "Running, sprinting");
4. its key, then its loose key, is part of names' keys (as the API matches); of several,
   those starting with it, then the shortest, then table order; at least
   ``MIN_SUBSTRING_CHARS`` characters.

When no candidate matched: 5. the first family a candidate mentions (quoted answers first, the
whole value last; a compound such as "breakdancing" mentions "dancing").

A family is a kind of activity the table lists several entries for (see
:func:`activity_families`). Its member is the one sharing most words with the candidate;
else, among those tied, the entry marked 'general', else 'moderate', else the middle one by
kcal per hour (the lower of two middles: a guess should not overstate); then table order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fitray.calories.normalise import (
    activity_key,
    answer_candidates,
    key_words,
    loose_key,
    trim_value,
)
from fitray.calories.table import ActivityTable

__all__ = [
    "FAMILY_SYNONYMS",
    "MIN_SUBSTRING_CHARS",
    "ActivityMatcher",
    "Match",
    "activity_families",
    "head_words",
]

MIN_SUBSTRING_CHARS = 3
# Head words that end in -ing but name no kind of activity of their own.
_GENERIC_WORDS = frozenset({"playing", "training"})
# Words that say nothing about which member of a family a value means.
_STOP_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the"}
    | {"to", "up", "with"}
)
# A compound mentions a family only through a family word this long ("golf" is too short).
_MIN_COMPOUND_PART = 5
# Words for a family that the table spells otherwise. Only what the table cannot tell: the
# families themselves, and compounds ending in one ("breakdancing"), come from the table.
FAMILY_SYNONYMS: Mapping[str, str] = {
    **dict.fromkeys(["jog", "jogs", "jogging", "jogger", "run", "runs", "runner"], "running"),
    **dict.fromkeys(["sprint", "sprints", "sprinting"], "running"),
    **dict.fromkeys(["walk", "walks"], "walking"),
    **dict.fromkeys(["bike", "bikes", "biking", "bicycle", "cycle"], "cycling"),
    **dict.fromkeys(["swim", "swims"], "swimming"),
    **dict.fromkeys(["dance", "dances"], "dancing"),
    **dict.fromkeys(["stretch", "stretches", "yoga"], "stretching"),
    **dict.fromkeys(["ski", "skis"], "skiing"),
    **dict.fromkeys(["skate", "skates"], "skating"),
    "aerobic": "aerobics",
    "calisthenic": "calisthenics",
}


@dataclass(frozen=True)
class Match:
    activity: str  # a full name from the table
    exact: bool  # the whole value is this name, up to case, spacing, unicode form and edges
    how: str  # for humans: which candidate met which rule
    family: str | None = None  # the family word, when a family rule chose the name


def head_words(name: str) -> list[str]:
    """The words of a name's head: its text before the first comma, '(', ':' or number.

    "Walking 3.0 mph, moderate" -> walking; "Swimming laps, freestyle" -> swimming laps.
    """
    key = activity_key(name)
    cut = next((i for i, ch in enumerate(key) if ch in ",(:<>" or ch.isdigit()), len(key))
    return key_words(key[:cut])


def activity_families(names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Kinds of activity the table lists several entries for: family word -> members.

    A family word is in the heads of two or more names and ends in -ing/-ics ("running",
    "cycling" also of "Stationary cycling", "dancing" of "Ballroom dancing", "aerobics") or is
    a whole head by itself ("golf", "tennis"). Its members, in table order, are the names
    whose head holds it.
    """
    members: dict[str, list[str]] = {}
    heads: set[str] = set()
    for name in names:
        words = head_words(name)
        heads.add(" ".join(words))
        for word in dict.fromkeys(words):
            members.setdefault(word, []).append(name)
    return {
        word: tuple(found)
        for word, found in members.items()
        if len(found) >= 2
        and word not in _GENERIC_WORDS
        and (word.endswith(("ing", "ics")) or word in heads)
    }


class ActivityMatcher:
    """Mapping value -> the table name it means; pure and picklable (Ray-safe)."""

    def __init__(self, table: ActivityTable) -> None:
        self._keys = [(activity_key(name), loose_key(name), name) for name in table.names]
        # The columns are proportional, so one weight orders activities like any other.
        self._kcal = {row.name: row.kcal_per_hour_at[0] for row in table.rows}
        self.families: Mapping[str, tuple[str, ...]] = activity_families(table.names)
        self._memo: dict[str, Match | None] = {}

    def match(self, value: str) -> Match | None:
        """The name ``value`` means, or None; a function of :func:`trim_value` of it."""
        text = trim_value(value)
        if text not in self._memo:
            self._memo[text] = self._match(text)
        return self._memo[text]

    def _match(self, text: str) -> Match | None:
        candidates = answer_candidates(text)
        for index, candidate in enumerate(candidates):
            found = self._by_name(candidate, whole=index == 0)
            if found:
                return found
        for candidate in [*candidates[1:], *candidates[:1]]:
            family = self._mentioned(candidate)
            if family:
                return self._in_family(family, candidate, "mentions")
        return None

    def _by_name(self, candidate: str, whole: bool) -> Match | None:
        key, loose = activity_key(candidate), loose_key(candidate)
        equal = [name for k, _, name in self._keys if k == key]
        if equal:
            return Match(_best(equal, key), whole, f"{candidate!r} equals")
        loosely = [name for _, lk, name in self._keys if lk == loose]
        if loosely:
            return Match(_best(loosely, key), False, f"{candidate!r} equals (punctuation ignored)")
        family = self._named(candidate)
        if family:
            return self._in_family(family, candidate, "names")
        for how, names in (
            ("is part of", self._containing(key, 0)),
            ("is part of (punctuation ignored)", self._containing(loose, 1)),
        ):
            if names:
                note = f" (best of {len(names)})" if len(names) > 1 else ""
                return Match(_best(names, key), False, f"{candidate!r} {how}{note}")
        return None

    def _containing(self, needle: str, field: int) -> list[str]:
        if len(needle) < MIN_SUBSTRING_CHARS:
            return []
        return [entry[2] for entry in self._keys if needle in entry[field]]

    def _family_of(self, word: str, compounds: bool) -> str | None:
        if word in self.families:
            return word
        synonym = FAMILY_SYNONYMS.get(word)
        if synonym in self.families:
            return synonym
        if not compounds:
            return None
        parts = [f for f in self.families if len(f) >= _MIN_COMPOUND_PART and word.endswith(f)]
        return max(parts, key=len, default=None)

    def _named(self, candidate: str) -> str | None:
        words = [w for w in key_words(candidate) if w not in _STOP_WORDS]
        found = {self._family_of(w, compounds=False) for w in words}
        return found.pop() if len(found) == 1 and None not in found else None

    def _mentioned(self, candidate: str) -> str | None:
        for word in key_words(candidate):
            family = None if word in _STOP_WORDS else self._family_of(word, compounds=True)
            if family:
                return family
        return None

    def _in_family(self, family: str, candidate: str, verb: str) -> Match:
        member, why = self._pick(family, key_words(candidate))
        return Match(member, False, f"{candidate!r} {verb} family {family}: {why}", family)

    def _pick(self, family: str, words: list[str]) -> tuple[str, str]:
        members = self.families[family]
        wanted = set(words) - _STOP_WORDS - {family}
        shared = {m: sorted(wanted & set(key_words(m))) for m in members}
        most = max(len(found) for found in shared.values())
        member, why = self._default([m for m in members if len(shared[m]) == most])
        return member, _join(f"shares {', '.join(map(repr, shared[member]))}" if most else "", why)

    def _default(self, pool: list[str]) -> tuple[str, str]:
        """Of members equally close to the value: general, moderate, the middle by kcal."""
        if len(pool) == 1:
            return pool[0], ""
        for marker in ("general", "moderate"):
            marked = [m for m in pool if marker in key_words(m)]
            if marked:
                return marked[0], f"its {marker} entry"
        ranked = sorted(pool, key=self._kcal.__getitem__)  # stable: table order on ties
        middle = "middle" if len(ranked) % 2 else "lower middle"
        return ranked[(len(ranked) - 1) // 2], f"{middle} of {len(ranked)} by kcal"


def _best(names: list[str], key: str) -> str:
    """Several names match: those starting with the candidate, then shortest, then first."""
    order = {name: i for i, name in enumerate(names)}
    return min(names, key=lambda n: (not activity_key(n).startswith(key), len(n), order[n]))


def _join(first: str, second: str) -> str:
    return "; ".join(part for part in (first, second) if part)
