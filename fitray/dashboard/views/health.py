"""Page "Pipeline health": loads, freshness, and the stage counts of one window, reconciled.

No original and no QuickSight sheet has it. It reads Kafka, MongoDB and the warehouse through
:func:`fitray.dashboard.health.fetch_health` (bounded, each store on its own), behind a short
cache (:data:`CACHE_TTL_S`): a document store that scans its collection is not asked again on
every click. A store that cannot answer shows as one line naming the setting to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from fitray.config import get_settings
from fitray.dashboard.health import (
    DEFAULT_WINDOW_HOURS,
    UNREAD_KAFKA,
    UNREAD_WAREHOUSE,
    Health,
    fetch_health,
    load_table,
    stage_counts,
    when_utc,
)
from fitray.dashboard.reconcile import Finding, dead_letter_rows, format_age
from fitray.exceptions import FitrayError

__all__ = ["CACHE_TTL_S", "TITLE", "URL_PATH", "render"]

TITLE = "Pipeline health"
URL_PATH = "health"
CACHE_TTL_S = 10
FINDING_BOXES: dict[str, Callable[..., object]] = {
    "ok": st.success,
    "mismatch": st.warning,
    "note": st.info,
    "unknown": st.warning,
}
log = logging.getLogger(__name__)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="Reading Kafka, MongoDB and the warehouse…")
def _health(window_hours: float) -> Health:
    return fetch_health(get_settings(), window_hours)


def render() -> None:
    """The page; whatever fails becomes one line, never a traceback."""
    st.title(TITLE)
    try:
        _render()
    except FitrayError as exc:
        _state(st.error, str(exc))
    except Exception as exc:  # a bug: one line here, the traceback in the server's log
        log.exception("Pipeline health failed")
        _state(st.error, f"unexpected error ({type(exc).__name__}); see the dashboard's log")


def _render() -> None:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    with left:
        hours = st.number_input(
            "Window: hours of event time",
            min_value=0.25,
            max_value=24.0 * 90,
            value=DEFAULT_WINDOW_HOURS,
            step=1.0,
            key="window-hours",
        )
    with right:
        if st.button("Refresh", key="health-refresh"):  # no tooltip: it would cover the page
            _health.clear()
    health = _health(float(hours))
    st.caption(_caption(health))
    _freshness(health)
    _stages(health)
    st.subheader("Reconciliation")
    with st.container(key="reconcile"):
        for finding in health.findings:
            _finding(finding)
    _dead_letters(health)
    _loads(health)


def _caption(health: Health) -> str:
    w = health.window
    return (
        f"Events of the last {w.hours:g} h: event time from {when_utc(w.start)} to "
        f"{when_utc(w.end)} UTC; "
        f"Kafka counts by the time a message was sent. Re-read every {CACHE_TTL_S} s."
    )


def _freshness(health: Health) -> None:
    wh = health.warehouse
    items = (
        ("fresh-event", "Newest loaded event", wh.newest_event_at),
        ("fresh-load", "Last load", wh.last_load_at),
    )
    for column, (key, label, when) in zip(st.columns(2), items, strict=True):
        with column, st.container(key=key):
            if wh.problem:  # the whole line shows once, in the warehouse's box below
                _state(st.warning, f"{label}: {UNREAD_WAREHOUSE}", key=f"state-{key}")
            else:
                st.metric(label, format_age(health.age_s(when)), help=when_utc(when), border=True)


def _stages(health: Health) -> None:
    for column, stage in zip(st.columns(4), stage_counts(health), strict=True):
        with column, st.container(key=f"stage-{stage.key}"):
            if stage.problem:
                _state(st.warning, stage.problem, key=f"state-{stage.key}")
                continue
            st.metric(stage.label, stage.value, border=True)
            if stage.note:
                st.caption(stage.note)


def _finding(finding: Finding) -> None:
    FINDING_BOXES[finding.kind](finding.text)


def _dead_letters(health: Health) -> None:
    st.subheader("Dead letters by stage and code")
    with st.container(key="dead-letters"):
        if health.kafka.problem:
            st.caption(UNREAD_KAFKA)
        elif not health.kafka.dead_letters:
            st.caption("no dead letters in the window")
        else:
            st.table(dead_letter_rows(health.kafka.dead_letters), hide_index=True)


def _loads(health: Health) -> None:
    wh = health.warehouse
    st.subheader(f"Loads (latest {len(wh.loads)} of {wh.total_loads:,})")
    with st.container(key="loads"):
        if wh.problem or wh.empty:
            st.caption(UNREAD_WAREHOUSE if wh.problem else wh.empty or "")
            return
        st.table(load_table(wh.loads), hide_index=True)


def _state(show: Callable[..., object], text: str, key: str = "state") -> None:
    with st.container(key=key):
        show(text)
