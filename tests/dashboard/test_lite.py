"""``fitray dashboard --lite``: the server-rendered Exercises Analysis, in Debian's Chromium.

The same checks as the Streamlit page's (tests/dashboard/test_browser.py): KPIs and every
chart's table against hand-written SQL over a warehouse the batch flow filled, filters one by
one and together, no ratings, no rows, a new batch shown on reload, nothing requested beyond
127.0.0.1. Then what is the lite page's own: the strict Content-Security-Policy and no script at
all, a filter value written as SQL harmless, the states of a missing or unreachable warehouse as
one line with their HTTP status, SIGTERM ending the server. Screenshots (lite-*.png) go to
``.stack/artifacts/dashboard/``.
"""

from __future__ import annotations

import html
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from multidict import MultiDict

from fitray.config import Settings, get_settings
from fitray.dashboard import lite
from fitray.dashboard.analysis import Bar
from fitray.dashboard.charts import bar_chart
from fitray.dashboard.exceptions import WarehouseUnavailable
from fitray.dashboard.lite import CSP, filters_from_query, page_parts
from fitray.dashboard.queries import CHARTS as CHART_SPECS
from fitray.dashboard.queries import Filters
from tests.dashboard import expected
from tests.dashboard.conftest import (
    UNRATED_EQUIPMENT,
    DashboardServer,
    RecordedPage,
    Warehouse,
    free_port,
    seed_documents,
    server_env,
)
from tests.dashboard.test_browser import CHARTS, expected_kpis, expected_table

KPI_LABELS = ("Total Exercises", "Avg. Calories Burned per Hour per kg", "Avg. Exercise Rating")
SQL_VALUE = "Chest' OR 1=1; DROP TABLE exercises_enriched; --"


class LitePage:
    """What a person does on the server-rendered page, and what they read from it."""

    def __init__(self, recorded: RecordedPage, server: DashboardServer) -> None:
        self.recorded, self.page, self.server = recorded, recorded.page, server

    def open(self, picked: dict[str, list[str]] | None = None) -> Any:
        query = urllib.parse.urlencode([(d, v) for d, vs in (picked or {}).items() for v in vs])
        return self.page.goto(self.server.url + (f"?{query}" if query else ""))

    def pick(self, dimension: str, values: list[str]) -> None:
        """Open the filter's list, tick each value, press Apply (the form reloads the page)."""
        box = self.page.locator(f'details[data-filter="{dimension}"]')
        box.locator("summary").click()
        for value in values:
            box.get_by_label(value, exact=True).check()
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Apply").click()

    def clear_all(self) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name="Clear all").click()

    def kpis(self) -> list[str]:
        return [self.page.locator(f'[data-kpi="{k}"] .value').inner_text() for k in KPI_LABELS]

    def table(self, chart: str) -> list[list[str]]:
        return self.page.locator(f"section#{chart} table").evaluate(
            "t => [...t.querySelectorAll('tr')].slice(1).map("
            "r => [...r.querySelectorAll('td')].map(c => c.textContent.trim()))"
        )

    def state(self, chart: str | None = None) -> str:
        scope = f"section#{chart} " if chart else "body > "
        return self.page.locator(f"{scope}.state").inner_text()


def assert_page_shows(ui: LitePage, warehouse: Warehouse, picked: dict[str, list]) -> None:
    """KPIs, then every chart (an SVG picture and its table) against SQL."""
    assert ui.kpis() == expected_kpis(warehouse, picked), picked
    for chart in CHARTS:
        want = expected_table(warehouse, chart, picked)
        if not want:  # no values to average: one line instead of an empty chart
            assert ui.state(chart).endswith("no values for these filters."), (chart, picked)
            continue
        picture = ui.page.locator(f"section#{chart} img")
        assert picture.get_attribute("src").startswith("data:image/svg+xml;base64,")
        assert ui.page.evaluate("img => img.naturalWidth", picture.element_handle()) > 0
        rows = ui.table(chart)
        assert sorted((row[0], row[1]) for row in rows) == want, (chart, picked)
        if chart.endswith("body_part"):  # sorted by value, as the original
            means = [float(row[1].replace(",", "")) for row in rows]
            assert means == sorted(means, reverse=True), chart


def test_every_chart_spec_is_valid_vega_lite() -> None:
    """The page and the report skip schema validation per render; it is done here, once."""
    bars = (Bar("Chest", 10.5, 3), Bar("(unknown)", 2.25, 1))
    for chart in CHART_SPECS:
        bar_chart(chart, bars, 460).to_dict(validate=True)  # raises on an invalid spec


def test_query_string_becomes_filters_and_unknown_keys_are_ignored() -> None:
    query = MultiDict(
        [("body_part", "Chest"), ("body_part", "Biceps"), ("level", ""), ("evil", "x")]
    )
    assert filters_from_query(query) == Filters(body_part=("Chest", "Biceps"))


@pytest.mark.slow
def test_lite_page_filters_kpis_and_charts_exactly_as_sql(
    filled_warehouse: Warehouse, dashboard_server: Any, recorded_page: RecordedPage
) -> None:
    server = dashboard_server(server_env(filled_warehouse.settings), "--lite")
    ui = LitePage(recorded_page, server)
    response = ui.open()
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert "<script" not in ui.page.content().lower()
    assert_page_shows(ui, filled_warehouse, {})
    recorded_page.screenshot("lite-all")

    parts = ["Chest", "Quadriceps"]  # several values in one filter
    ui.pick("body_part", parts)
    assert_page_shows(ui, filled_warehouse, {"body_part": parts})
    assert ui.page.url.endswith("?body_part=Chest&body_part=Quadriceps")  # a view is a URL
    ui.pick("level", ["Intermediate"])  # a second filter keeps the first
    picked = {"body_part": parts, "level": ["Intermediate"]}
    assert_page_shows(ui, filled_warehouse, picked)
    assert "Body Part: Chest, Quadriceps" in ui.page.locator("form").inner_text()
    recorded_page.screenshot("lite-filtered")

    ui.clear_all()
    ui.pick("equipment", [UNRATED_EQUIPMENT])  # only unrated exercises: no NaN anywhere
    assert_page_shows(ui, filled_warehouse, {"equipment": [UNRATED_EQUIPMENT]})
    assert ui.kpis()[2] == "no ratings"

    ui.pick("level", ["Expert"])  # no Foam Roll exercise is Expert: no rows at all
    nothing = {"equipment": [UNRATED_EQUIPMENT], "level": ["Expert"]}
    assert expected.kpis("duckdb", filled_warehouse.settings, nothing)[0] == 0
    assert ui.state().startswith("No exercises match these filters")

    assert ui.open({"body_part": [SQL_VALUE]}).status == 200  # bound, never spliced
    assert ui.state().startswith("No exercises match these filters")
    ticked = ui.page.locator('details[data-filter="body_part"] input:checked')
    assert ticked.get_attribute("value") == SQL_VALUE  # shown back as the value it is

    assert filled_warehouse.load_more(seed_documents("late", 30)) == 30
    ui.open()  # every request reads the warehouse: the new batch shows without a restart
    assert_page_shows(ui, filled_warehouse, {})
    assert ui.kpis()[0] == f"{filled_warehouse.rows + 30:,}"
    text = ui.page.locator("body").inner_text()
    assert "nan" not in text.lower().split() and "Traceback" not in text
    assert recorded_page.errors == []
    assert recorded_page.foreign_requests((server.url,)) == []


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _state_line(page: str) -> str:
    start = page.index('role="status">') + len('role="status">')
    return html.unescape(page[start : page.index("</p>", start)])  # as a reader sees it


def test_lite_missing_and_unreachable_warehouses_are_one_line(
    tmp_path: Path, dashboard_server: Any
) -> None:
    missing = tmp_path / "none.duckdb"
    server = dashboard_server(
        {"FITRAY_WAREHOUSE_BACKEND": "duckdb", "FITRAY_DUCKDB_PATH": str(missing)}, "--lite"
    )
    status, page = _get(server.url)
    assert status == 200  # no warehouse yet is a state, not a failure
    assert "does not exist" in _state_line(page) and "FITRAY_DUCKDB_PATH" in _state_line(page)

    down = dashboard_server(
        {"FITRAY_WAREHOUSE_BACKEND": "postgres", "FITRAY_POSTGRES_PORT": str(free_port())},
        "--lite",
    )
    status, page = _get(down.url)
    line = _state_line(page)
    assert status == 503
    assert "not reachable" in line and "FITRAY_POSTGRES_PORT" in line and "\n" not in line
    assert "Traceback" not in page

    down.process.terminate()  # SIGTERM: the server stops as on Ctrl-C, and says so
    assert down.process.wait(timeout=20) == 0
    assert "stopping the dashboard" in down.log.read_text()


@pytest.fixture
def small_warehouse(tmp_path: Path) -> Settings:
    """A DuckDB warehouse of seeded rows built straight from Arrow (no stack needed)."""
    from bench.bench_dashboard import build_warehouse

    settings = get_settings().model_copy(
        update={"warehouse_backend": "duckdb", "duckdb_path": tmp_path / "w.duckdb"}
    )
    build_warehouse(settings, settings.duckdb_file, 500)
    return settings


def test_the_server_sends_the_kpis_before_it_draws_the_charts(
    small_warehouse: Settings, dashboard_server: Any
) -> None:
    import urllib3

    path = str(small_warehouse.duckdb_file)
    server = dashboard_server(
        {"FITRAY_WAREHOUSE_BACKEND": "duckdb", "FITRAY_DUCKDB_PATH": path}, "--lite"
    )
    response = urllib3.request("GET", server.url, preload_content=False, timeout=30)
    try:
        chunks = list(response.read_chunked())  # one item per HTTP chunk the server wrote
    finally:
        response.release_conn()
    first, rest = chunks[0], b"".join(chunks[1:])
    assert first.count(b"data-kpi=") == 3 and b"<section" not in first  # painted before charts
    assert rest.count(b"<section") == len(CHART_SPECS) and rest.endswith(b"</body></html>")


def test_a_failure_after_the_kpis_replaces_only_the_charts(
    small_warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: Any) -> None:
        raise WarehouseUnavailable("the warehouse went away; check FITRAY_DUCKDB_PATH")

    monkeypatch.setattr(lite, "read_bars", unreachable)
    (status, top), (_, rest) = page_parts(small_warehouse, Filters())
    assert status == 200 and top.count("data-kpi=") == 3  # already sent: it stays
    assert _state_line(rest) == "the warehouse went away; check FITRAY_DUCKDB_PATH"
    assert "<section" not in rest and rest.endswith("</body></html>")


@pytest.mark.parametrize("filled_warehouse", ["duckdb", "postgres"], indirect=True)
def test_lite_page_reads_either_warehouse(filled_warehouse: Warehouse) -> None:
    picked = {"body_part": ["Chest", "Quadriceps"]}
    parts = list(page_parts(filled_warehouse.settings, Filters(body_part=("Chest", "Quadriceps"))))
    assert [status for status, _ in parts] == [200, 200]
    text = "".join(part for _, part in parts)
    shown = [
        text.split(f'data-kpi="{label}">', 1)[1]
        .split('elementtiming="kpi">', 1)[1]
        .split("<", 1)[0]
        for label in KPI_LABELS
    ]
    assert shown == expected_kpis(filled_warehouse, picked)
    assert text.count("<img ") == len(CHART_SPECS) and text.endswith("</body></html>")


@pytest.mark.parametrize("hours", ["abc", "0", "-3", "nan", "1e9"])
def test_a_window_that_is_not_a_number_of_hours_is_one_line(hours: str) -> None:
    text, status = lite.render_health(get_settings(), hours)
    assert status == 400
    assert _state_line(text) == f"the window must be 0.25 to 2160 hours, not {hours!r}"
    assert 'name="hours"' in text  # the form stays, to correct it
