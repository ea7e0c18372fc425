"""The "Exercises Analysis" page in Debian's headless Chromium, served by ``fitray dashboard``.

KPIs and each chart's numbers (the data table rendered under every chart) are read from the
page and compared with hand-written SQL over the same warehouse, which the batch flow filled.
Every request the page makes is recorded: none may leave 127.0.0.1. Screenshots are kept in
``.stack/artifacts/dashboard/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fitray.warehouse.sql import create_loads_sql, create_target_sql
from tests.dashboard import expected
from tests.dashboard.conftest import (
    UNRATED_EQUIPMENT,
    DashboardServer,
    RecordedPage,
    Warehouse,
    free_port,
    seed_documents,
    server_env,
    wait_until,
)

pytestmark = pytest.mark.slow
CHARTS = {  # chart key -> (dimension, measure), as the page draws them
    "kcal_by_exercise_type": ("exercise_type", "kcal_per_hour_per_kg"),
    "kcal_by_body_part": ("body_part", "kcal_per_hour_per_kg"),
    "kcal_by_equipment": ("equipment", "kcal_per_hour_per_kg"),
    "rating_by_level": ("level", "rating"),
    "rating_by_body_part": ("body_part", "rating"),
}
WAIT_S = 30


class AnalysisPage:
    """What a person does on the page and what they read from it."""

    def __init__(self, recorded: RecordedPage, server: DashboardServer) -> None:
        self.recorded, self.page, self.server = recorded, recorded.page, server

    def open(self) -> None:
        self.page.goto(self.server.url)
        self.settle()

    def settle(self) -> None:
        """Wait until the app is connected and its script has finished running."""
        self.page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=WAIT_S * 1000
        )
        self.page.wait_for_selector('[data-testid="stSkeleton"]', state="detached")

    def pick(self, dimension: str, values: list[str]) -> None:
        box = self.page.locator(f".st-key-filter-{dimension}")
        for value in values:
            box.locator("input").click()
            box.locator("input").fill(value)  # the option list is virtual: narrow it first
            self.page.get_by_role("option", name=value, exact=True).click()
            self.page.keyboard.press("Escape")

    def clear(self, dimension: str) -> None:
        self.page.locator(f".st-key-filter-{dimension}").get_by_role(
            "button", name="Clear all"
        ).click()

    def refresh(self) -> None:
        self.page.locator(".st-key-refresh button:visible").click()

    def kpis(self) -> list[str]:
        return [
            self.page.locator(f".st-key-kpi-{key} [data-testid='stMetricValue']").inner_text()
            for key in ("total", "kcal", "rating")
        ]

    def table(self, chart: str) -> list[list[str]]:
        return self.page.locator(f".st-key-chart-{chart} table").evaluate(
            "t => [...t.querySelectorAll('tbody tr')].map("
            "r => [...r.querySelectorAll('th, td')].map(c => c.textContent.trim()))"
        )

    def state(self, key: str = "state") -> str:
        return self.page.locator(f".st-key-{key}").inner_text()


def expected_kpis(warehouse: Warehouse, picked: dict[str, list[str]]) -> list[str]:
    rows, kcal, rating = expected.kpis(warehouse.backend, warehouse.settings, picked)
    return [
        f"{rows:,}",
        f"{kcal:,.2f}",
        "no ratings" if rating is None else f"{rating:,.2f}",
    ]


def expected_table(warehouse: Warehouse, chart: str, picked: dict[str, list[str]]) -> list:
    dimension, measure = CHARTS[chart]
    means = expected.breakdown(warehouse.backend, warehouse.settings, dimension, measure, picked)
    return sorted((label, f"{mean:,.4f}") for label, mean in means.items())


def assert_page_shows(ui: AnalysisPage, warehouse: Warehouse, picked: dict[str, list]) -> None:
    """KPIs first (they change last on a rerun), then every chart's table, against SQL."""
    want = expected_kpis(warehouse, picked)
    wait_until(lambda: ui.kpis() == want, WAIT_S, f"KPIs {want} for {picked} (page: {ui.kpis()})")
    ui.settle()
    for chart in CHARTS:
        want = expected_table(warehouse, chart, picked)
        if not want:  # no values to average: a plain line instead of an empty chart
            assert ui.state(f"state-{chart}").endswith("for these filters"), (chart, picked)
            continue
        shown = sorted((row[0], row[1]) for row in ui.table(chart))
        assert shown == want, (chart, picked)
        if chart.endswith("body_part"):  # sorted by value, as the original
            means = [float(row[1].replace(",", "")) for row in ui.table(chart)]
            assert means == sorted(means, reverse=True), chart


def assert_nothing_left_the_machine(recorded: RecordedPage, *servers: DashboardServer) -> None:
    assert recorded.errors == [], recorded.errors
    local = tuple(url for s in servers for url in (s.url, s.url.replace("http://", "ws://")))
    assert recorded.foreign_requests(local) == []
    assert any(url.startswith("ws://127.0.0.1") for url in recorded.requests)  # really ran


def test_filters_change_kpis_and_charts_exactly_as_sql(
    filled_warehouse: Warehouse, dashboard_server: Any, recorded_page: RecordedPage
) -> None:
    server = dashboard_server(server_env(filled_warehouse.settings))
    ui = AnalysisPage(recorded_page, server)
    ui.open()
    assert_page_shows(ui, filled_warehouse, {})
    recorded_page.screenshot("analysis-all")

    parts = ["Chest", "Quadriceps"]  # several values in one filter
    ui.pick("body_part", parts)
    assert_page_shows(ui, filled_warehouse, {"body_part": parts})
    ui.pick("level", ["Intermediate"])  # two filters together
    assert_page_shows(ui, filled_warehouse, {"body_part": parts, "level": ["Intermediate"]})
    recorded_page.screenshot("analysis-filtered")

    ui.clear("body_part")
    ui.clear("level")
    ui.pick("equipment", [UNRATED_EQUIPMENT])  # only unrated exercises: no NaN anywhere
    assert_page_shows(ui, filled_warehouse, {"equipment": [UNRATED_EQUIPMENT]})
    assert ui.kpis()[2] == "no ratings"
    for chart in ("rating_by_level", "rating_by_body_part"):
        assert ui.state(f"state-{chart}") == "no ratings for these filters"
    recorded_page.screenshot("analysis-no-ratings")

    ui.pick("level", ["Expert"])  # no Foam Roll exercise is Expert: no rows at all
    nothing = {"equipment": [UNRATED_EQUIPMENT], "level": ["Expert"]}
    assert expected.kpis("duckdb", filled_warehouse.settings, nothing)[0] == 0
    wait_until(lambda: "No exercises match" in ui.state(), WAIT_S, "the no-rows state")
    recorded_page.screenshot("analysis-no-rows")

    ui.clear("level")
    ui.clear("equipment")
    assert_page_shows(ui, filled_warehouse, {})
    assert filled_warehouse.load_more(seed_documents("late", 30)) == 30
    ui.refresh()  # a new batch shows without restarting the server
    assert_page_shows(ui, filled_warehouse, {})
    assert ui.kpis()[0] == f"{filled_warehouse.rows + 30:,}"
    text = ui.page.locator('[data-testid="stApp"]').inner_text()
    assert "nan" not in text.lower().split() and "Traceback" not in text
    assert_nothing_left_the_machine(recorded_page, server)


def test_missing_busy_empty_and_unreachable_warehouses_show_one_line(
    stack: Any, tmp_path: Path, dashboard_server: Any, recorded_page: RecordedPage
) -> None:
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    server = dashboard_server(
        {"FITRAY_WAREHOUSE_BACKEND": "duckdb", "FITRAY_DUCKDB_PATH": str(path)}
    )
    ui = AnalysisPage(recorded_page, server)
    ui.open()
    assert "does not exist" in ui.state() and "FITRAY_DUCKDB_PATH" in ui.state()
    recorded_page.screenshot("state-missing")

    writer = duckdb.connect(str(path))  # this process holds the file as a batch load would
    try:
        ui.refresh()
        wait_until(
            lambda: "stayed locked by another process" in ui.state(), WAIT_S, "the busy state"
        )
        recorded_page.screenshot("state-busy")
        writer.execute(create_target_sql("duckdb"))
        writer.execute(create_loads_sql("duckdb"))
    finally:
        writer.close()
    ui.refresh()
    wait_until(lambda: "holds no exercises yet" in ui.state(), WAIT_S, "the empty state")
    recorded_page.screenshot("state-empty")

    down = dashboard_server(
        {"FITRAY_WAREHOUSE_BACKEND": "postgres", "FITRAY_POSTGRES_PORT": str(free_port())}
    )
    ui = AnalysisPage(recorded_page, down)
    ui.open()
    line = ui.state()
    assert "not reachable" in line and "FITRAY_POSTGRES_PORT" in line and "\n" not in line
    assert "Traceback" not in ui.page.locator('[data-testid="stApp"]').inner_text()
    recorded_page.screenshot("state-unreachable")
    assert_nothing_left_the_machine(recorded_page, server, down)
