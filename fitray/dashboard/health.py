"""The "Pipeline health" numbers: loads, freshness, and each stage's count for one time window.

The window is the last N hours of EVENT time (when a workout happened), one definition for
every stage: MongoDB's ``event_time``, the warehouse's ``timestamp`` (the same value, loaded),
and for Kafka the message timestamp (when the producer sent it: seconds after the event time,
so an event at the window's very start may count in Kafka and not after it). Dead letters
count by the time they were sent. The three stores are read at once, each with its own bound,
and each ends as numbers or as one line saying what to fix: one unreachable server never hides
the other two. The web page and ``fitray report`` both draw from :func:`fetch_health`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fitray.config import Settings
from fitray.dashboard.exceptions import WarehouseEmpty
from fitray.dashboard.kafka_counts import KafkaCounts, read_kafka
from fitray.dashboard.mongo_counts import MongoCounts, count_stored_after, read_mongo
from fitray.dashboard.queries import (
    load_history_query,
    loads_query,
    newest_event_query,
    rows_since_query,
    table_exists_query,
)
from fitray.dashboard.reconcile import Finding, dead_letter_rows, findings
from fitray.dashboard.source import open_reader
from fitray.exceptions import FitrayError
from fitray.warehouse.sql import TARGET_TABLE

__all__ = [
    "DEFAULT_WINDOW_HOURS",
    "LOAD_HISTORY",
    "UNREAD_KAFKA",
    "UNREAD_WAREHOUSE",
    "Health",
    "LoadRow",
    "StageCount",
    "WarehouseCounts",
    "Window",
    "fetch_health",
    "load_table",
    "read_warehouse",
    "stage_counts",
    "when_utc",
]

DEFAULT_WINDOW_HOURS = 24.0
UNREAD_KAFKA = "not read: Kafka is not reachable"
UNREAD_WAREHOUSE = "not read: the warehouse is not reachable"
LOAD_HISTORY = 20  # loads listed, newest first


@dataclass(frozen=True)
class Window:
    hours: float
    start: datetime
    end: datetime  # when the counts were read


@dataclass(frozen=True)
class LoadRow:
    """One committed load, as the ``loads`` table recorded it."""

    load_id: str
    started_at: datetime
    finished_at: datetime
    watermark_before: datetime | None
    watermark_after: datetime | None
    documents_read: int
    rows_inserted: int
    rows_skipped: int

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class WarehouseCounts:
    backend: str
    rows: int | None = None  # rows of the window
    loads: tuple[LoadRow, ...] = ()  # the latest LOAD_HISTORY, newest first
    total_loads: int = 0
    newest_event_at: datetime | None = None
    last_load_at: datetime | None = None
    empty: str | None = None  # nothing loaded yet (a state, not a failure)
    problem: str | None = None

    @property
    def watermark(self) -> datetime | None:
        marks = [load.watermark_after for load in self.loads if load.watermark_after]
        return max(marks) if marks else None


@dataclass(frozen=True)
class Health:
    window: Window
    kafka: KafkaCounts
    mongo: MongoCounts
    warehouse: WarehouseCounts

    @property
    def findings(self) -> list[Finding]:
        return findings(self.kafka, self.mongo, self.warehouse)

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.kafka.problem, self.mongo.problem, self.warehouse.problem) if p]

    def age_s(self, when: datetime | None) -> float | None:
        return None if when is None else (self.window.end - when).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (``fitray report --json``)."""
        data = asdict(self)
        data["kafka"]["dead_letters"] = dead_letter_rows(self.kafka.dead_letters)
        data["warehouse"]["watermark"] = self.warehouse.watermark
        for load, row in zip(data["warehouse"]["loads"], self.warehouse.loads, strict=True):
            load["duration_s"] = row.duration_s
        data["freshness"] = {
            "newest_event_age_s": self.age_s(self.warehouse.newest_event_at),
            "last_load_age_s": self.age_s(self.warehouse.last_load_at),
        }
        data["findings"] = [asdict(finding) for finding in self.findings]
        data["problems"] = self.problems
        return _jsonable(data)


@dataclass(frozen=True)
class StageCount:
    """One stage's count as a page shows it: the number as text, or the line that replaces it."""

    key: str  # kafka, mongodb, warehouse, dead-letters
    label: str
    value: str | None  # None when ``problem`` says why there is no number
    problem: str | None = None
    note: str = ""


def stage_counts(health: Health) -> list[StageCount]:
    """Kafka, MongoDB, the warehouse and the dead letters of the window, in that order."""
    k, m, w = health.kafka, health.mongo, health.warehouse
    letters = f"{k.dead_letter_total:,}" + ("" if k.dead_letters_complete else "+")
    return [
        StageCount("kafka", f"Kafka ({k.topic})", _count(k.messages, k.problem), k.problem,
                   f"consumer lag {k.lag or 0:,}"),
        StageCount("mongodb", f"MongoDB ({m.database}.{m.collection})",
                   _count(m.documents, m.problem), m.problem),
        StageCount("warehouse", f"Warehouse ({w.backend})", _count(w.rows, w.problem),
                   w.problem, w.empty or ""),
        StageCount("dead-letters", f"Dead letters ({k.dead_letter_topic})",
                   None if k.problem else letters,
                   UNREAD_KAFKA if k.problem else None),
    ]  # fmt: skip


def load_table(loads: tuple[LoadRow, ...]) -> list[dict[str, str]]:
    """The loads as rows of text, newest first (the web pages' table)."""
    return [
        {
            "load": load.load_id,
            "finished (UTC)": when_utc(load.finished_at),
            "duration": f"{load.duration_s:.1f} s",
            "documents read": f"{load.documents_read:,}",
            "rows inserted": f"{load.rows_inserted:,}",
            "skipped (already present)": f"{load.rows_skipped:,}",
            "watermark after (UTC)": when_utc(load.watermark_after),
        }
        for load in loads
    ]


def when_utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _count(value: int | None, problem: str | None) -> str | None:
    return None if problem else f"{value or 0:,}"


def fetch_health(
    settings: Settings,
    window_hours: float = DEFAULT_WINDOW_HOURS,
    *,
    history: int = LOAD_HISTORY,
    now: datetime | None = None,
) -> Health:
    """Read the three stores at once; a count that needs explaining is explained after."""
    if not window_hours > 0:
        raise ValueError(f"the window must be a positive number of hours, not {window_hours!r}")
    end = now or datetime.now(UTC)
    window = Window(window_hours, end - timedelta(hours=window_hours), end)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="health") as pool:
        kafka_f = pool.submit(read_kafka, settings, window.start)
        mongo_f = pool.submit(read_mongo, settings, window.start)
        warehouse = read_warehouse(settings, window.start, history)
        mongo = _explain_unloaded(settings, window, mongo_f.result(), warehouse)
        kafka = kafka_f.result()
    return Health(window, kafka, mongo, warehouse)


def read_warehouse(
    settings: Settings, since: datetime, history: int = LOAD_HISTORY
) -> WarehouseCounts:
    """Loads, freshness and the window's rows from one read-only snapshot; never raises."""
    dialect = settings.warehouse_backend
    counts = WarehouseCounts(dialect)
    try:
        with open_reader(settings) as read:
            if not read(table_exists_query(dialect))[0][0]:
                return replace(counts, rows=0, empty=_no_table(dialect))
            total, last_load_at = read(loads_query())[0]
            loads = tuple(_load_row(row) for row in read(load_history_query(history)))
            newest = read(newest_event_query())[0][0]
            rows = read(rows_since_query(since, dialect))[0][0]
    except WarehouseEmpty as exc:
        return replace(counts, rows=0, empty=str(exc))
    except FitrayError as exc:  # unreachable, busy, misconfigured: one line each
        return replace(counts, problem=str(exc))
    return replace(
        counts,
        rows=int(rows),
        loads=loads,
        total_loads=int(total),
        newest_event_at=_utc(newest),
        last_load_at=_utc(last_load_at),
    )


def _explain_unloaded(
    settings: Settings, window: Window, mongo: MongoCounts, warehouse: WarehouseCounts
) -> MongoCounts:
    """Count what MongoDB holds beyond the warehouse only when it does (a second scan)."""
    if mongo.documents is None or warehouse.rows is None or mongo.documents <= warehouse.rows:
        return mongo
    if warehouse.watermark is None:  # nothing loaded yet: every document is waiting
        return replace(mongo, stored_after=mongo.documents)
    counted = count_stored_after(settings, window.start, mongo, warehouse.watermark)
    return mongo if counted.problem else counted


def _no_table(dialect: str) -> str:
    return f"no batch has loaded yet: the warehouse ({dialect}) has no table {TARGET_TABLE}"


def _load_row(row: tuple[Any, ...]) -> LoadRow:
    load_id, started, finished, before, after, read, inserted, skipped = row
    return LoadRow(
        str(load_id),
        _utc(started) or started,
        _utc(finished) or finished,
        _utc(before),
        _utc(after),
        int(read),
        int(inserted),
        int(skipped),
    )


def _utc(value: datetime | None) -> datetime | None:
    """A driver's timestamp in UTC (DuckDB answers in the session's zone, naive means UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
