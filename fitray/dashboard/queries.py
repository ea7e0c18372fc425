"""SQL text of the dashboard's pages: pure builders, no connection, no values inlined.

Every filter value travels as a bound parameter; the only names spliced into the text are the
columns of :data:`DIMENSIONS` and :data:`MEASURES`, fixed here. Every panel is one aggregate
(COUNT/AVG ... GROUP BY) computed by the warehouse, so the page never pulls rows into Python.
The "Pipeline health" page reads the ``loads`` table and counts rows by event time the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

from fitray.warehouse.sql import LOADS_TABLE, TARGET_TABLE

__all__ = [
    "CHARTS",
    "DIMENSIONS",
    "MEASURES",
    "PLACEHOLDERS",
    "ChartSpec",
    "Filters",
    "Query",
    "any_row_query",
    "breakdown_query",
    "kpi_query",
    "load_history_query",
    "loads_query",
    "newest_event_query",
    "options_query",
    "rows_since_query",
    "table_exists_query",
    "where_clause",
]

Dimension = Literal["body_part", "equipment", "exercise_type", "level"]
Measure = Literal["kcal_per_hour_per_kg", "rating"]

# column -> the label the original QuickSight sheet gave it
DIMENSIONS: dict[str, str] = {
    "body_part": "Body Part",
    "equipment": "Equipment",
    "exercise_type": "Exercise Type",
    "level": "Exercise Level",
}
MEASURES: dict[str, str] = {
    "kcal_per_hour_per_kg": "Avg. kcal per hour per kg",
    "rating": "Avg. rating",
}
# driver -> its parameter marker: DuckDB qmark, psycopg and redshift_connector format style
PLACEHOLDERS: dict[str, str] = {"duckdb": "?", "postgres": "%s", "redshift": "%s"}


@dataclass(frozen=True)
class Filters:
    """Values picked per dimension; an empty tuple means "All"."""

    body_part: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    exercise_type: tuple[str, ...] = ()
    level: tuple[str, ...] = ()

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def is_all(self) -> bool:
        return not any(values for _, values in self.items())


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[str | int | datetime, ...] = ()


@dataclass(frozen=True)
class ChartSpec:
    """One bar chart of the sheet: the mean of ``measure`` per value of ``dimension``."""

    key: str
    title: str
    dimension: Dimension
    measure: Measure
    horizontal: bool = False


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "kcal_by_exercise_type",
        "Avg. kcal/h/kg by Exercise Type",
        "exercise_type",
        "kcal_per_hour_per_kg",
    ),
    ChartSpec(
        "kcal_by_body_part",
        "Avg. kcal/h/kg by Body Part",
        "body_part",
        "kcal_per_hour_per_kg",
        horizontal=True,
    ),
    ChartSpec(
        "kcal_by_equipment", "Avg. kcal/h/kg by Equipment", "equipment", "kcal_per_hour_per_kg"
    ),
    ChartSpec("rating_by_level", "Avg. Rating by Exercise Level", "level", "rating"),
    ChartSpec(
        "rating_by_body_part", "Avg. Rating by Body Part", "body_part", "rating", horizontal=True
    ),
)


def _placeholder(dialect: str) -> str:
    try:
        return PLACEHOLDERS[dialect]
    except KeyError:
        raise ValueError(f"no placeholder style for warehouse {dialect!r}") from None


def _column(name: str, allowed: dict[str, str]) -> str:
    if name not in allowed:  # never splice a name that is not ours
        raise ValueError(f"{name!r} is not one of {', '.join(allowed)}")
    return name


def where_clause(filters: Filters, dialect: str) -> Query:
    """``WHERE col IN (?, ?) AND ...`` with one bound parameter per picked value."""
    mark = _placeholder(dialect)
    clauses: list[str] = []
    params: list[str] = []
    for column, values in filters.items():
        if values:
            marks = ", ".join([mark] * len(values))
            clauses.append(f"{_column(column, DIMENSIONS)} IN ({marks})")
            params.extend(str(v) for v in values)
    sql = " WHERE " + " AND ".join(clauses) if clauses else ""
    return Query(sql, tuple(params))


def kpi_query(filters: Filters, dialect: str) -> Query:
    """Rows, mean kcal/h/kg, mean rating and how many ratings that mean stands on."""
    where = where_clause(filters, dialect)
    return Query(
        "SELECT COUNT(*), AVG(kcal_per_hour_per_kg), AVG(rating), COUNT(rating) "
        f"FROM {TARGET_TABLE}{where.sql}",
        where.params,
    )


def breakdown_query(chart: ChartSpec, filters: Filters, dialect: str) -> Query:
    """Mean (and count) of the chart's measure per dimension value; groups with none dropped."""
    dim = _column(chart.dimension, DIMENSIONS)
    measure = _column(chart.measure, MEASURES)
    where = where_clause(filters, dialect)
    return Query(
        f"SELECT {dim}, AVG({measure}), COUNT({measure}) FROM {TARGET_TABLE}{where.sql} "
        f"GROUP BY {dim} HAVING COUNT({measure}) > 0",
        where.params,
    )


def options_query(dimension: str) -> Query:
    """The values a filter offers: every non-null value present, unfiltered (as QuickSight)."""
    dim = _column(dimension, DIMENSIONS)
    return Query(
        f"SELECT DISTINCT {dim} FROM {TARGET_TABLE} WHERE {dim} IS NOT NULL ORDER BY {dim}"
    )


def table_exists_query(dialect: str) -> Query:
    """Whether the batch created the target yet (a fresh warehouse has no tables)."""
    return Query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = "
        f"{_placeholder(dialect)}",
        (TARGET_TABLE,),
    )


def any_row_query() -> Query:
    """One row if the target holds any (cheaper than counting a large table)."""
    return Query(f"SELECT 1 FROM {TARGET_TABLE} LIMIT 1")


def loads_query() -> Query:
    """How many loads committed and when the last one finished (the page says how fresh)."""
    return Query(f"SELECT COUNT(*), MAX(finished_at) FROM {LOADS_TABLE}")


def load_history_query(limit: int) -> Query:
    """The latest ``limit`` committed loads, newest first, with what each one read and wrote.

    The limit is an ``int`` formatted into the text (not a value anyone types), because
    Redshift does not take a bound parameter in LIMIT."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, not {limit!r}")
    return Query(
        "SELECT load_id, started_at, finished_at, watermark_before, watermark_after, "
        f"documents_read, rows_inserted, rows_skipped FROM {LOADS_TABLE} "
        f"ORDER BY finished_at DESC LIMIT {limit}"
    )


def newest_event_query() -> Query:
    """Event time of the newest loaded workout (how fresh the data is, not the loads)."""
    return Query(f'SELECT MAX("timestamp") FROM {TARGET_TABLE}')


def rows_since_query(since: datetime, dialect: str) -> Query:
    """Rows whose event time is at or after ``since``: the warehouse's side of a reconciliation."""
    mark = _placeholder(dialect)
    return Query(f'SELECT COUNT(*) FROM {TARGET_TABLE} WHERE "timestamp" >= {mark}', (since,))
