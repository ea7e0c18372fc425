"""Pure parts of the dashboard: SQL text, formatting, HTML escaping, and Redshift's requests.

Redshift cannot run here: its driver is replaced by a recording connection, and what it would
receive (SQL text, parameters, connection settings) is checked.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from fitray.config import get_settings
from fitray.dashboard.analysis import Analysis, Bar, Kpis, fetch_analysis, finite_or_none
from fitray.dashboard.charts import NO_RATINGS, format_mean, kpi_items
from fitray.dashboard.exceptions import WarehouseUnavailable
from fitray.dashboard.queries import (
    CHARTS,
    ChartSpec,
    Filters,
    breakdown_query,
    kpi_query,
    options_query,
    where_clause,
)
from fitray.dashboard.report import render_report_html
from fitray.exceptions import ConfigError

values = st.lists(st.text(max_size=30), max_size=4).map(tuple)
filters = st.builds(Filters, values, values, values, values)


@given(filters, st.sampled_from(["duckdb", "postgres", "redshift"]))
def test_filter_values_never_shape_the_sql_text(picked: Filters, dialect: str) -> None:
    """The text depends only on how many values each filter has; the values are parameters."""
    blank = Filters(*(tuple("x" for _ in vals) for _, vals in picked.items()))
    clause = where_clause(picked, dialect)
    assert clause.sql == where_clause(blank, dialect).sql
    assert clause.params == tuple(v for _, vals in picked.items() for v in vals)
    mark = "?" if dialect == "duckdb" else "%s"
    assert clause.sql.count(mark) == len(clause.params)
    for chart in CHARTS:
        query = breakdown_query(chart, picked, dialect)
        assert query.sql == breakdown_query(chart, blank, dialect).sql
        assert query.params == clause.params


def test_no_filter_means_no_where_and_unknown_names_are_refused() -> None:
    assert kpi_query(Filters(), "duckdb").sql == (
        "SELECT COUNT(*), AVG(kcal_per_hour_per_kg), AVG(rating), COUNT(rating) "
        "FROM exercises_enriched"
    )
    with pytest.raises(ValueError, match="placeholder"):
        where_clause(Filters(level=("Expert",)), "sqlite")
    evil = ChartSpec("x", "x", "body_part; DROP TABLE loads", "rating")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not one of"):
        breakdown_query(evil, Filters(), "duckdb")
    with pytest.raises(ValueError, match="is not one of"):
        options_query("title")


def test_means_over_nothing_are_words_never_nan() -> None:
    assert finite_or_none(None) is None and finite_or_none(math.nan) is None
    assert finite_or_none(math.inf) is None and finite_or_none(Decimal("2.5")) == 2.5
    assert format_mean(None, NO_RATINGS) == "no ratings" and format_mean(1234.5) == "1,234.50"
    kpis = Kpis(total_exercises=3, avg_kcal_per_hour_per_kg=4.0, avg_rating=None, ratings=0)
    assert [value for _, value in kpi_items(kpis)] == ["3", "4.00", "no ratings"]


def test_report_escapes_labels_and_filter_values() -> None:
    hostile = "</script><script>alert(1)</script>"
    kpis = Kpis(total_exercises=1, avg_kcal_per_hour_per_kg=2.0, avg_rating=3.0, ratings=1)
    bars: dict[str, tuple[Bar, ...]] = {chart.key: (Bar(hostile, 1.0, 1),) for chart in CHARTS}
    picked = Filters(body_part=(hostile,))
    page = render_report_html(Analysis(picked, kpis, bars), picked)
    assert "<script>alert(1)" not in page
    assert page.count("<script>") == 2 and page.count("</script>") == 2
    empty = render_report_html(None, picked, state="no batch has loaded yet")
    assert "no batch has loaded yet" in empty and "<script" not in empty


# -- Redshift: the requests it would get -------------------------------------------------------


class RecordingCursor:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log, self.sql = log, ""

    def execute(self, sql: str, params: Any = None) -> None:
        self.log.append((sql, params))
        self.sql = sql

    def fetchall(self) -> list[list[Any]]:
        if "information_schema" in self.sql:
            return [[1]]
        if "FROM loads" in self.sql:
            return [[2, datetime(2024, 5, 1, tzinfo=UTC)]]
        if self.sql.startswith("SELECT 1 FROM"):
            return [[1]]
        if self.sql.startswith("SELECT COUNT(*), AVG"):
            return [[10, Decimal("5.25"), None, 0]]
        return [["Chest", Decimal("5.5"), 3], [None, Decimal("4.5"), 2]]


class RecordingConnection:
    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.closed = False

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self.log)

    def close(self) -> None:
        self.closed = True


def redshift_settings() -> Any:
    return get_settings().model_copy(
        update={
            "warehouse_backend": "redshift",
            "redshift_host": "example.abc123.us-east-1.redshift.amazonaws.com",
            "redshift_user": "analyst",
            "redshift_password": SecretStr("rs-Pa55-secret"),
        }
    )


def test_redshift_gets_bound_parameters_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import redshift_connector

    conn, calls = RecordingConnection(), []

    def connect(**kwargs: Any) -> RecordingConnection:
        calls.append(kwargs)
        return conn

    monkeypatch.setattr(redshift_connector, "connect", connect)
    hostile = "Chest'; DROP TABLE exercises_enriched; --"
    analysis = fetch_analysis(redshift_settings(), Filters(body_part=("Chest", hostile)))
    assert calls == [
        {
            "host": "example.abc123.us-east-1.redshift.amazonaws.com",
            "port": 5439,
            "database": "dev",
            "user": "analyst",
            "password": "rs-Pa55-secret",
            "timeout": 5,
        }
    ]
    filtered = [(sql, params) for sql, params in conn.log if params and "Chest" in params]
    assert len(filtered) == 1 + len(CHARTS)  # the KPIs and every chart, all filtered
    for sql, params in filtered:
        assert "body_part IN (%s, %s)" in sql and hostile not in sql
        assert params == ("Chest", hostile)
    assert conn.closed
    assert conn.log[0] == ("SET statement_timeout TO 30000", None)  # every read bounded
    assert analysis.kpis == Kpis(10, 5.25, None, 0)
    assert [b.label for b in analysis.bars["kcal_by_body_part"]] == ["Chest", "(unknown)"]


def test_redshift_unreachable_or_unset_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import redshift_connector

    def refuse(**kwargs: Any) -> None:
        raise OSError(f"connect failed for password {kwargs['password']}")

    monkeypatch.setattr(redshift_connector, "connect", refuse)
    with pytest.raises(WarehouseUnavailable) as caught:
        fetch_analysis(redshift_settings(), Filters())
    assert "FITRAY_REDSHIFT_HOST" in str(caught.value)
    assert "rs-Pa55-secret" not in str(caught.value)
    unset = redshift_settings().model_copy(update={"redshift_host": None})
    with pytest.raises(ConfigError, match="FITRAY_REDSHIFT_HOST"):
        fetch_analysis(unset, Filters())


def test_every_postgres_read_is_bounded_per_statement(stack: Any, pg_database: str) -> None:
    """The server itself cancels a dashboard query past STATEMENT_TIMEOUT_S (one line then)."""
    from fitray.dashboard.queries import Query
    from fitray.dashboard.source import STATEMENT_TIMEOUT_S, open_reader

    dbname = pg_database.rsplit("dbname=", 1)[1]
    settings = stack.model_copy(
        update={"warehouse_backend": "postgres", "postgres_database": dbname}
    )
    with open_reader(settings) as read:
        assert read(Query("SHOW statement_timeout")) == [(f"{STATEMENT_TIMEOUT_S}s",)]
