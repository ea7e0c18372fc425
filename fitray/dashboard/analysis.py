"""The "Exercises Analysis" numbers: filter options, KPIs and the five breakdowns, as data.

Both the web page and the static report draw from :func:`fetch_analysis`; neither formats
anything the warehouse did not aggregate. A mean over no values is ``None`` (shown as "no
ratings"), never NaN: the warehouse's AVG over nothing is NULL, and a non-finite value that a
driver might still return is turned into ``None`` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fitray.config import Settings
from fitray.dashboard.exceptions import WarehouseEmpty
from fitray.dashboard.queries import (
    CHARTS,
    DIMENSIONS,
    ChartSpec,
    Filters,
    any_row_query,
    breakdown_query,
    kpi_query,
    loads_query,
    options_query,
    table_exists_query,
)
from fitray.dashboard.source import Reader, open_reader
from fitray.warehouse.sql import TARGET_TABLE

__all__ = [
    "LEVEL_ORDER",
    "UNKNOWN_LABEL",
    "Analysis",
    "Bar",
    "Kpis",
    "fetch_analysis",
    "fetch_options",
    "finite_or_none",
    "read_bars",
    "read_kpis",
    "read_options",
]

UNKNOWN_LABEL = "(unknown)"  # rows whose exercise the reference CSV does not know
LEVEL_ORDER = ("Beginner", "Intermediate", "Expert")


@dataclass(frozen=True)
class Kpis:
    total_exercises: int
    avg_kcal_per_hour_per_kg: float | None
    avg_rating: float | None
    ratings: int  # how many non-null ratings the mean stands on


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    count: int  # non-null values behind the mean


@dataclass(frozen=True)
class Analysis:
    filters: Filters
    kpis: Kpis
    bars: dict[str, tuple[Bar, ...]] = field(default_factory=dict)  # chart key -> bars in order
    loads: int = 0
    last_load_at: datetime | None = None

    @property
    def has_rows(self) -> bool:
        return self.kpis.total_exercises > 0


def finite_or_none(value: Any) -> float | None:
    """A driver's number as a float, or None for NULL/NaN/inf (Decimal from Redshift too)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def fetch_options(settings: Settings) -> dict[str, list[str]]:
    """Every value each filter can offer; raises :class:`WarehouseEmpty` before any load."""
    with open_reader(settings) as read:
        _require_rows(read, settings)
        return read_options(read)


def fetch_analysis(settings: Settings, filters: Filters) -> Analysis:
    """KPIs and breakdowns for ``filters``, from one read-only snapshot of the warehouse."""
    with open_reader(settings) as read:
        return read_bars(read, settings, read_kpis(read, settings, filters))


def read_options(read: Reader) -> dict[str, list[str]]:
    """Every value each filter can offer, through an open reader."""
    return {dim: [str(r[0]) for r in read(options_query(dim))] for dim in DIMENSIONS}


def read_kpis(read: Reader, settings: Settings, filters: Filters) -> Analysis:
    """The analysis without its bars (KPIs and loads): what a page can show first."""
    loads, last_load_at = _require_rows(read, settings)
    total, avg_kcal, avg_rating, ratings = read(kpi_query(filters, settings.warehouse_backend))[0]
    kpis = Kpis(int(total), finite_or_none(avg_kcal), finite_or_none(avg_rating), int(ratings))
    return Analysis(filters, kpis, {}, loads, last_load_at)


def read_bars(read: Reader, settings: Settings, analysis: Analysis) -> Analysis:
    """``analysis`` with the five breakdowns (none when no row matches its filters)."""
    if not analysis.has_rows:
        return analysis
    dialect, filters = settings.warehouse_backend, analysis.filters
    bars = {
        chart.key: _bars(chart, read(breakdown_query(chart, filters, dialect))) for chart in CHARTS
    }
    return replace(analysis, bars=bars)


def _require_rows(read: Reader, settings: Settings) -> tuple[int, datetime | None]:
    if not read(table_exists_query(settings.warehouse_backend))[0][0]:
        raise WarehouseEmpty(
            f"no batch has loaded yet: the warehouse ({settings.warehouse_backend}) has no "
            f"table {TARGET_TABLE}; run `fitray batch`"
        )
    loads, last_load_at = read(loads_query())[0]
    if not read(any_row_query()):
        raise WarehouseEmpty(
            f"the warehouse ({settings.warehouse_backend}) holds no exercises yet "
            f"({int(loads)} loads); stream some workouts and run `fitray batch`"
        )
    return int(loads), last_load_at


def _bars(chart: ChartSpec, rows: list[tuple[Any, ...]]) -> tuple[Bar, ...]:
    bars = [
        Bar(UNKNOWN_LABEL if label is None else str(label), value, int(count))
        for label, mean, count in rows
        if (value := finite_or_none(mean)) is not None
    ]
    if chart.dimension == "level":
        rank = {name: i for i, name in enumerate(LEVEL_ORDER)}
        bars.sort(key=lambda b: (rank.get(b.label, len(rank)), b.label))
    else:
        bars.sort(key=lambda b: (-b.value, b.label))
    return tuple(bars)
