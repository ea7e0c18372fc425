"""Text normalisation for matching LLM-written activity names against the calorie table.

The mapping's values were written by an LLM: mostly exact activity names, but also
punctuation variants ('…' vs '...', a trailing '.' or '。', quotes, extra spaces) and whole
sentences that quote the answer. These pure functions turn both sides into comparable keys
and pull candidate answers out of sentences; :mod:`fitray.calories.match` finds the table name
a value means and :mod:`fitray.calories.resolve` decides.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["activity_key", "answer_candidates", "key_words", "loose_key", "title_key", "trim_value"]

# Typographic quotes and the ideographic full stop have no NFKC mapping to ASCII.
_TRANSLATE = str.maketrans(
    {
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u3002": ".",  # 。
        "`": "'",
    }
)
# Stripped from both ends: whitespace, quotes and sentence punctuation. An ellipsis is
# three dots after NFKC, so "situps…", "situps..." and "situps." all end as "situps".
_EDGE_CHARS = " \t\r\n\f\v\"'.,;:!?"
# A quote still open at the end of the text runs to the end: :func:`trim_value` drops a
# closing quote that ended the value, and 'is "X"' must give X as 'is "X' does.
_DOUBLE_QUOTED = re.compile(r'"([^"]+)(?:"|$)')
# A single-quoted span must not touch a letter outside it, so "Children's games" is no quote.
_SINGLE_QUOTED = re.compile(r"(?<!\w)'([^']+)(?:'(?!\w)|$)")
# "... the best match is X." / "... would be X." -> X (the last such phrase wins).
_ANSWER_TAIL = re.compile(r".*\b(?:is|be)\s+(.+)$", re.DOTALL | re.IGNORECASE)
_MAX_PASSES = 8
# Words: letters and digits, keeping "3.0" and "children's" whole.
_WORD = re.compile(r"[^\W_]+(?:[.'][^\W_]+)*")


def title_key(title: str) -> str:
    """How exercise titles are compared: case-insensitive, whitespace trimmed and collapsed."""
    return " ".join(title.split()).casefold()


def trim_value(text: str) -> str:
    """A mapping value as resolution reads it: NFKC, quotes unified, whitespace collapsed,
    and trailing whitespace, quotes and sentence punctuation ('.', '…', '。', '!') dropped.

    Case and inner punctuation stay (sentence answers are read from them). A value with and
    without trailing punctuation trims to the same text, so it resolves to the same activity.
    """
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return " ".join(text.split()).rstrip(_EDGE_CHARS)


def activity_key(text: str) -> str:
    """The comparison key of an activity name; idempotent (a fixed point of one pass)."""
    for _ in range(_MAX_PASSES):
        once = _normalise_once(text)
        if once == text:
            break
        text = once
    return text


def loose_key(text: str) -> str:
    """:func:`activity_key` with every non-alphanumeric character dropped, spaces included.

    Lets "Walking, 3.0 mph, moderate" meet "Walking 3.0 mph, moderate" and "Kickboxing"
    meet "kick boxing".
    """
    return "".join(ch for ch in activity_key(text) if ch.isalnum())


def answer_candidates(text: str) -> list[str]:
    """The value itself, then what a sentence answer quotes, most likely answer first.

    Order: the whole text; double-quoted spans (last first: sentences quote the exercise
    before the answer); the text after the last "is"/"be"; single-quoted spans (last first).
    """
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    candidates = [text]
    candidates += reversed(_DOUBLE_QUOTED.findall(text))
    tail = _ANSWER_TAIL.match(text.strip())
    if tail:
        candidates.append(tail.group(1))
    candidates += reversed(_SINGLE_QUOTED.findall(text))
    unique: dict[str, None] = {}
    for candidate in candidates:
        if activity_key(candidate):
            unique.setdefault(candidate.strip(), None)
    return list(unique)


def _normalise_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = " ".join(text.split()).strip(_EDGE_CHARS)
    return unicodedata.normalize("NFKC", text.casefold())


def key_words(text: str) -> list[str]:
    """The words of :func:`activity_key`: letters and digits, "3.0" and "children's" whole."""
    return _WORD.findall(activity_key(text))
