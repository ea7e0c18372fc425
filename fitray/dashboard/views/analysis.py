"""Page "Exercises Analysis": the original QuickSight sheet — four filters, three KPIs, five bars.

Every filter applies to every panel. Reads go through a short cache (:data:`CACHE_TTL_S`), so a
new batch shows within seconds, or at once with the Refresh button. Whatever goes wrong ends
as one line on the page (``client.showErrorDetails`` is off as well), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

import streamlit as st

from fitray.config import get_settings
from fitray.dashboard.analysis import Analysis, fetch_analysis, fetch_options
from fitray.dashboard.charts import (
    NO_RATINGS,
    bar_chart,
    chart_height_px,
    kpi_items,
    table_rows,
)
from fitray.dashboard.exceptions import WarehouseEmpty, WarehouseUnavailable
from fitray.dashboard.queries import CHARTS, DIMENSIONS, ChartSpec, Filters
from fitray.exceptions import FitrayError

__all__ = ["CACHE_TTL_S", "TITLE", "URL_PATH", "render"]

TITLE = "Exercises Analysis"
URL_PATH = "analysis"
CACHE_TTL_S = 5
# chart keys per row of the grid: the kcal charts first, then the ratings
LAYOUT = (
    ("kcal_by_exercise_type", "kcal_by_equipment"),
    ("kcal_by_body_part", "rating_by_body_part"),
    ("rating_by_level",),
)
KPI_KEYS = ("total", "kcal", "rating")  # CSS classes st-key-kpi-<key>, in kpi_items order
log = logging.getLogger(__name__)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _options() -> dict[str, list[str]]:
    return fetch_options(get_settings())


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _analysis(filters: Filters) -> Analysis:
    return fetch_analysis(get_settings(), filters)


def render() -> None:
    """The page; every failure becomes one line in a state box."""
    st.title(TITLE)
    try:
        _render()
    except WarehouseEmpty as exc:
        _state(st.info, str(exc))
    except WarehouseUnavailable as exc:
        _state(st.warning, str(exc))
    except FitrayError as exc:
        _state(st.error, str(exc))
    except Exception as exc:  # a bug: one line here, the traceback in the server's log
        log.exception("Exercises Analysis failed")
        _state(st.error, f"unexpected error ({type(exc).__name__}); see the dashboard's log")


def _render() -> None:
    if st.button("Refresh", key="refresh", help="Read the warehouse again now."):
        _options.clear()
        _analysis.clear()
    filters = _filter_controls(_options())
    analysis = _analysis(filters)
    st.caption(_freshness(analysis))
    if not analysis.has_rows:
        _state(st.info, "No exercises match these filters; clear one to see more.")
        return
    _kpis(analysis)
    charts = {chart.key: chart for chart in CHARTS}
    for row in LAYOUT:
        for column, key in zip(st.columns(2), row, strict=False):
            with column:
                _chart(charts[key], analysis)


def _filter_controls(options: dict[str, list[str]]) -> Filters:
    picked: dict[str, tuple[str, ...]] = {}
    for column, (dim, label) in zip(st.columns(len(DIMENSIONS)), DIMENSIONS.items(), strict=True):
        with column:
            values = st.multiselect(label, options[dim], key=f"filter-{dim}", placeholder="All")
        picked[dim] = tuple(values)
    return Filters(**picked)


def _kpis(analysis: Analysis) -> None:
    items = zip(st.columns(3), KPI_KEYS, kpi_items(analysis.kpis), strict=True)
    for column, key, (label, value) in items:
        with column, st.container(key=f"kpi-{key}"):
            st.metric(label, value, border=True)


def _chart(chart: ChartSpec, analysis: Analysis) -> None:
    bars = analysis.bars.get(chart.key, ())
    with st.container(key=f"chart-{chart.key}", border=True):
        if not bars:
            st.markdown(f"**{chart.title}**")
            empty = NO_RATINGS if chart.measure == "rating" else "no values"
            _state(st.info, f"{empty} for these filters", key=f"state-{chart.key}")
            return
        height = chart_height_px(chart, len(bars))
        st.altair_chart(bar_chart(chart, bars), width="stretch", height=height)
        with st.expander("data"):
            st.table(table_rows(chart, bars), hide_index=True)


def _freshness(analysis: Analysis) -> str:
    when = analysis.last_load_at
    last = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"
    plural = "" if analysis.loads == 1 else "s"
    return f"{analysis.loads} load{plural}, last at {last}; re-read every {CACHE_TTL_S} s"


def _state(show: Callable[..., object], text: str, key: str = "state") -> None:
    with st.container(key=key):
        show(text)
