"""Reconciliation of the stage counts, in words: each difference said plainly, with its cause.

Pure: counts in, sentences out. Between Kafka and MongoDB the known causes are messages
dead-lettered by the consumer (stages ``consume`` and ``store``) and messages not consumed yet
(the consumer group's lag); between MongoDB and the warehouse, documents stored after the last
load's watermark. Whatever these do not explain is said too, with what can cause it. Dead
letters of the stages before Kafka are workouts that never reached it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fitray.dead_letters import CODE_MEANINGS, STAGE_MEANINGS, DeadLetterCode, Stage

if TYPE_CHECKING:
    from fitray.dashboard.health import WarehouseCounts
    from fitray.dashboard.kafka_counts import DeadLetterCount, KafkaCounts
    from fitray.dashboard.mongo_counts import MongoCounts

__all__ = [
    "AFTER_KAFKA",
    "BEFORE_KAFKA",
    "Finding",
    "code_meaning",
    "dead_letter_rows",
    "findings",
    "format_age",
    "stage_meaning",
]

Kind = Literal["ok", "mismatch", "note", "unknown"]
AFTER_KAFKA = (Stage.CONSUME.value, Stage.STORE.value)  # read from the enriched topic, not stored
BEFORE_KAFKA = (Stage.SOURCE.value, Stage.ENRICH.value, Stage.PRODUCE.value)


@dataclass(frozen=True)
class Finding:
    """One sentence of the reconciliation; ``kind`` says how the page colours it."""

    kind: Kind
    text: str


def code_meaning(code: str) -> str:
    try:
        return CODE_MEANINGS[DeadLetterCode(code)]
    except ValueError:
        return "not a code this version of fitray knows"


def stage_meaning(stage: str) -> str:
    try:
        return STAGE_MEANINGS[Stage(stage)]
    except ValueError:
        return "not a stage this version of fitray knows"


def dead_letter_rows(letters: Iterable[DeadLetterCount]) -> list[dict[str, str | int]]:
    """Dead letters as rows with the meaning of each code next to it (page, terminal, JSON)."""
    return [
        {"stage": d.stage, "code": d.code, "count": d.count, "meaning": code_meaning(d.code)}
        for d in letters
    ]


def format_age(seconds: float | None) -> str:
    """'42 s ago', '3 min ago', '2 h 05 min ago', '3 d 4 h ago'; '-' for never."""
    if seconds is None:
        return "-"
    if seconds < 0:
        return "in the future (clocks differ)"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s ago"
    if whole < 3600:
        return f"{whole // 60} min ago"
    if whole < 86_400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min ago"
    return f"{whole // 86_400} d {whole % 86_400 // 3600} h ago"


def findings(kafka: KafkaCounts, mongo: MongoCounts, warehouse: WarehouseCounts) -> list[Finding]:
    """Kafka vs MongoDB, MongoDB vs the warehouse, then what never reached Kafka."""
    found = [_kafka_vs_mongo(kafka, mongo), _mongo_vs_warehouse(mongo, warehouse)]
    return found + _notes(kafka)


def _n(value: int) -> str:
    return f"{value:,}"


def _by_stage(kafka: KafkaCounts, stages: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for letter in kafka.dead_letters:
        if letter.stage in stages:
            counts[letter.stage] = counts.get(letter.stage, 0) + letter.count
    return counts


def _kafka_vs_mongo(kafka: KafkaCounts, mongo: MongoCounts) -> Finding:
    if kafka.messages is None or mongo.documents is None:
        return Finding("unknown", f"Kafka vs MongoDB: not compared ({_unread(kafka, mongo)})")
    sent, stored = kafka.messages, mongo.documents
    dead, lag = sum(_by_stage(kafka, AFTER_KAFKA).values()), kafka.lag or 0
    head = f"Kafka {_n(sent)} vs MongoDB {_n(stored)}"
    if sent == stored and not dead and not lag:
        return Finding("ok", f"Kafka {_n(sent)} = MongoDB {_n(stored)}: every message is stored")
    causes = []
    if dead:
        causes.append(f"{_n(dead)} dead-lettered by the consumer (invalid or refused)")
    if lag:
        causes.append(f"{_n(lag)} not stored yet (consumer lag {_n(lag)})")
    rest = sent - stored - dead - lag
    if rest > 0:
        causes.append(
            f"{_n(rest)} unexplained: duplicates of stored events (Kafka delivers at least "
            "once; MongoDB keeps one per event_id), events sent in the window whose event "
            "time is before it, or documents deleted from MongoDB"
        )
    elif rest < 0:
        causes.append(
            f"MongoDB holds {_n(-rest)} more than Kafka accounts for: events sent before the "
            "window whose event time is in it, documents written by another route, or "
            "messages Kafka's retention already removed"
        )
    kind: Kind = "ok" if rest == 0 and not lag else "mismatch"
    missing = sent - stored
    gap = f"{_n(missing)} not in MongoDB" if missing >= 0 else f"{_n(-missing)} more in MongoDB"
    return Finding(kind, f"{head}: {gap} — " + "; ".join(causes))


def _mongo_vs_warehouse(mongo: MongoCounts, warehouse: WarehouseCounts) -> Finding:
    if mongo.documents is None or warehouse.rows is None:
        return Finding(
            "unknown", f"MongoDB vs warehouse: not compared ({_unread(mongo, warehouse)})"
        )
    stored, loaded = mongo.documents, warehouse.rows
    head = f"MongoDB {_n(stored)} vs warehouse {_n(loaded)}"
    if stored == loaded:
        return Finding(
            "ok", f"MongoDB {_n(stored)} = warehouse {_n(loaded)}: every document is loaded"
        )
    if loaded > stored:
        return Finding(
            "mismatch",
            f"{head}: the warehouse holds {_n(loaded - stored)} more: documents removed from "
            "MongoDB after their load, or rows loaded from another database",
        )
    waiting = stored - loaded
    text = f"{head}: {_n(waiting)} not loaded yet"
    after = mongo.stored_after
    if not warehouse.total_loads:
        text += " (no load has run yet)"
    elif after is not None:
        text += f" ({_n(after)} stored after the last load's watermark"
        if after < waiting:
            text += (
                f"; {_n(waiting - after)} stored before it and still missing: visible late, "
                "the next run's overlap re-reads them"
            )
        text += ")"
    return Finding("mismatch", text + "; the next `fitray batch` loads them")


def _notes(kafka: KafkaCounts) -> list[Finding]:
    notes = []
    before = _by_stage(kafka, BEFORE_KAFKA)
    if before:
        stages = ", ".join(f"{stage} {_n(n)}" for stage, n in sorted(before.items()))
        notes.append(
            Finding(
                "note",
                f"{_n(sum(before.values()))} workouts never reached Kafka: dead-lettered at "
                f"{stages}",
            )
        )
    if not kafka.dead_letters_complete:
        notes.append(
            Finding(
                "note",
                f"dead letters: at least {_n(kafka.dead_letter_total)} (the read stopped at its "
                "cap or deadline; counts by code are partial)",
            )
        )
    for topic in kafka.missing_topics:
        notes.append(Finding("note", f"topic {topic} does not exist yet: nothing was sent to it"))
    return notes


def _unread(*sources: KafkaCounts | MongoCounts | WarehouseCounts) -> str:
    names = {"KafkaCounts": "Kafka", "MongoCounts": "MongoDB", "WarehouseCounts": "warehouse"}
    down = [names[type(s).__name__] for s in sources if s.problem]
    return (" and ".join(down) + " unreadable") if down else "no count"
