"""Dashboard speed: the "Exercises Analysis" page on a 1M-row DuckDB warehouse, in Chromium.

The warehouse is built straight from Arrow (the batch's own merge and metrics over seeded
events whose titles come from the exercise CSV, so every filter offers its real values), not
through the stream. ``fitray dashboard``'s Streamlit server serves it; Debian's Chromium,
driven by Playwright, opens the page in a fresh context every round. Times come from the
page itself (``performance.now()``, an observer installed before the page's own scripts):

- fitray, first paint: navigation start to the KPIs shown (in ``extra``: the charts drawn,
  the browser's first contentful paint, and when the last of the page's script files had
  arrived: Streamlit fetches each element's code when the element first appears);
- fitray, filter change: the click on a Body Part value to the "Total Exercises" KPI showing
  that value's count (checked against SQL);
- ceiling: the same aggregates straight from the warehouse in this process
  (``fetch_options`` + ``fetch_analysis``; ``fetch_analysis`` with the filter): what the
  page costs beyond its SQL;
- fitray --lite, first paint: navigation start to the KPIs painted (the browser's element
  timing of the KPI text; the page is server-rendered, streamed KPIs first, with no script of
  its own); in ``extra``: the load event (every chart in) and the first contentful paint;
- fitray --lite, filter change: the click on Apply (a Body Part ticked first) to the next
  page's KPIs painted, from the browser's clock across the navigation (checked against SQL);
- floor: a bare Streamlit page (``bench/bare_streamlit_app.py``: a title and one metric, no
  data), served with the same options and opened the same way: Streamlit's own start-up in
  a cold browser, which no page built on it can beat.

Every visit comes more than the page's cache (5 s) after the last, so each reads the warehouse.

    python -m bench.bench_dashboard --help
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.harness import CEILING, FITRAY, Bench, interleave, parse_args
from fitray.batch.transform import merge_with_reference, to_warehouse_rows
from fitray.config import Settings, get_settings
from fitray.dashboard.analysis import fetch_analysis, fetch_options
from fitray.dashboard.queries import Filters
from fitray.dashboard.server import (
    APP_PATH,
    dashboard_url,
    streamlit_command,
    wait_until_healthy,
)
from fitray.exercises import read_exercises
from fitray.warehouse.sql import create_loads_sql, create_target_sql, insert_load_sql

__all__ = ["build_warehouse", "main"]

SMOKE = {"rows": 2_000, "rounds": 1}
# the browser's own marks of a visit, in seconds from navigation start
MARKS = """(() => {
  const scripts = performance.getEntriesByType('resource').filter(r => r.name.endsWith('.js'));
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {fcp: fcp ? fcp.startTime / 1000 : null, scripts: scripts.length,
          scripts_done: Math.max(0, ...scripts.map(r => r.responseEnd)) / 1000};
})()"""
CHROMIUM = "/usr/bin/chromium"
BARE_APP = Path(__file__).with_name("bare_streamlit_app.py")
BODY_PARTS = ("Chest", "Quadriceps", "Abdominals", "Shoulders", "Biceps")  # one per round
KPI = ".st-key-kpi-total [data-testid='stMetricValue']"
OBSERVER = """(() => {
  const b = window.__bench = {kpisAt: null, chartsAt: null, armed: null, clickAt: null,
                              changedAt: null};
  document.addEventListener("pointerdown", () => {
    if (b.armed !== null && b.clickAt === null) b.clickAt = performance.now();
  }, true);
  new MutationObserver(() => {
    const kpi = document.querySelector("%s");
    const text = kpi ? kpi.textContent.trim() : "";
    const now = performance.now();
    if (b.kpisAt === null && text) b.kpisAt = now;
    const drawn = document.querySelectorAll(".vega-embed canvas, .vega-embed svg.marks");
    if (b.chartsAt === null && drawn.length >= %d) b.chartsAt = now;
    if (b.armed !== null && b.clickAt !== null && b.changedAt === null && text
        && text !== b.armed) b.changedAt = now;
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


def build_warehouse(settings: Settings, path: Path, rows: int, seed: int = 11) -> None:
    """``rows`` warehouse rows, as the batch would load them, in a fresh DuckDB file."""
    import duckdb

    reference = read_exercises(settings.exercises_file)
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, reference.num_rows, rows)
    weight_lb, duration_min = rng.uniform(100, 250, rows), rng.uniform(5, 90, rows)
    kcal_per_hour = rng.uniform(150, 900, rows)
    start = datetime.now(UTC) - timedelta(days=30)
    documents = pa.table(
        {
            "event_id": pa.array([f"d{i:09d}" for i in range(rows)]),
            "title": reference["title"].take(pa.array(picked)),
            "weight_lb": weight_lb,
            "duration_min": duration_min,
            "kcal_per_hour": kcal_per_hour,
            "total_kcal": kcal_per_hour * duration_min / 60,
            "event_time": pa.array(
                [start + timedelta(seconds=int(s)) for s in rng.integers(0, 30 * 86_400, rows)],
                pa.timestamp("ms", tz="UTC"),
            ),
        }
    )
    loaded_at = datetime.now(UTC)
    table = to_warehouse_rows(merge_with_reference(documents, reference), "bench", loaded_at)
    with duckdb.connect(str(path)) as con:
        con.execute(create_target_sql("duckdb"))
        con.execute(create_loads_sql("duckdb"))
        con.register("staged", table)
        con.execute("INSERT INTO exercises_enriched SELECT * FROM staged")
        record = ("bench", loaded_at, loaded_at, None, loaded_at, rows, rows, 0, "[]")
        con.execute(insert_load_sql("?"), record)


class Browser:
    """Playwright on Debian's Chromium, one fresh context (no cache) per measurement."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        self.chromium = self._playwright.chromium.launch(executable_path=CHROMIUM, args=args)

    def close(self) -> None:
        self.chromium.close()
        self._playwright.stop()


class PageRounds:
    """One round: open the page in a fresh browser (first visit), pick one Body Part (filter
    change), then, once the page's cache expired, reload it (a visit with the browser's cache
    warm: Streamlit's scripts are not fetched again)."""

    def __init__(self, browser: Browser, url: str, counts: dict[str, int], wait_s: float) -> None:
        self.browser, self.url, self.counts, self.wait_s = browser, url, counts, wait_s
        self.times: dict[str, list[float]] = {
            name: [] for name in ("first_visit", "charts_drawn", "page_loaded", "filter_change",
                                  "reload", "reload_charts_drawn")
        }  # fmt: skip
        self.marks: list[dict[str, float]] = []  # the first visits' browser marks

    def run(self, body_part: str) -> None:
        context = self.browser.chromium.new_context(viewport={"width": 1400, "height": 1400})
        try:
            page = context.new_page()
            page.add_init_script(OBSERVER % (KPI, 5))
            page.goto(self.url)
            self._paint(page, "first_visit", "charts_drawn")
            self.marks.append(page.evaluate(MARKS))
            self.times["page_loaded"].append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
            )
            self.times["filter_change"].append(self._pick(page, body_part))
            time.sleep(self.wait_s)  # past the page's cache: the reload reads the warehouse
            page.goto(self.url)
            self._paint(page, "reload", "reload_charts_drawn")
        finally:
            context.close()

    def _paint(self, page: Any, kpis: str, charts: str) -> None:
        page.wait_for_function("window.__bench.kpisAt && window.__bench.chartsAt")
        marks = page.evaluate("window.__bench")
        self.times[kpis].append(marks["kpisAt"] / 1000)
        self.times[charts].append(marks["chartsAt"] / 1000)

    def _pick(self, page: Any, body_part: str) -> float:
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        box = page.locator(".st-key-filter-body_part")
        box.locator("input").click()
        box.locator("input").fill(body_part)
        option = page.get_by_role("option", name=body_part, exact=True)
        option.wait_for()
        page.evaluate(f'window.__bench.armed = document.querySelector("{KPI}").textContent')
        option.click()
        page.wait_for_function("window.__bench.changedAt")
        marks = page.evaluate("window.__bench")
        shown = page.locator(KPI).inner_text()
        if shown != f"{self.counts[body_part]:,}":
            raise AssertionError(f"{body_part}: page shows {shown}, SQL {self.counts[body_part]}")
        return float(marks["changedAt"] - marks["clickAt"]) / 1000


LITE_CLICK = """document.addEventListener("pointerdown", (e) => {
  if (e.target.closest("button"))
    sessionStorage.setItem("clickAt", String(performance.timeOrigin + performance.now()));
}, true);"""
# resolves once the three KPI texts are painted (element timing), with the page's other marks
LITE_MARKS = """new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    const kpis = list.getEntries().filter((e) => e.identifier === "kpi");
    if (kpis.length < 3) return;
    observer.disconnect();
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    const click = sessionStorage.getItem("clickAt");
    resolve({kpis: Math.max(...kpis.map((e) => e.renderTime)), fcp: fcp ? fcp.startTime : null,
             origin: performance.timeOrigin, click: click === null ? null : Number(click),
             total: document.querySelector('[data-kpi="Total Exercises"] .value').textContent});
  }).observe({type: "element", buffered: true});
})"""


class LiteRounds:
    """One round on ``fitray dashboard --lite``: a first visit in a fresh browser, then one
    Body Part ticked and Apply clicked (a new page from the server)."""

    def __init__(self, browser: Browser, url: str, counts: dict[str, int]) -> None:
        self.browser, self.url, self.counts = browser, url, counts
        self.times: dict[str, list[float]] = {
            name: [] for name in ("first_visit", "page_loaded", "fcp", "filter_change",
                                  "filter_loaded")
        }  # fmt: skip

    def run(self, body_part: str) -> None:
        context = self.browser.chromium.new_context(viewport={"width": 1400, "height": 1400})
        try:
            page = context.new_page()
            page.add_init_script(LITE_CLICK)
            page.goto(self.url)
            marks = page.evaluate(LITE_MARKS)
            self.times["first_visit"].append(marks["kpis"] / 1000)
            self.times["fcp"].append(marks["fcp"] / 1000)
            self.times["page_loaded"].append(_load_event_s(page))
            box = page.locator('details[data-filter="body_part"]')
            box.locator("summary").click()
            box.get_by_label(body_part, exact=True).check()
            with page.expect_navigation():
                page.get_by_role("button", name="Apply").click()
            marks = page.evaluate(LITE_MARKS)
            if marks["total"] != f"{self.counts[body_part]:,}":
                raise AssertionError(f"{body_part}: lite page shows {marks['total']}")
            self.times["filter_change"].append(
                (marks["origin"] + marks["kpis"] - marks["click"]) / 1000
            )
            self.times["filter_loaded"].append(
                (marks["origin"] - marks["click"]) / 1000 + _load_event_s(page)
            )
        finally:
            context.close()


def _load_event_s(page: Any) -> float:
    page.wait_for_load_state("load")
    return float(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")) / 1000


def start_lite(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``fitray dashboard --lite`` (the real CLI) on the warehouse; returns once it printed its
    address (the chart engine is warm by then)."""
    env = {"FITRAY_WAREHOUSE_BACKEND": "duckdb", "FITRAY_DUCKDB_PATH": str(path)}
    command = [sys.executable, "-m", "fitray", "dashboard", "--lite", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=path.parent,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while f"dashboard: {dashboard_url(port)}" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"fitray dashboard --lite did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)  # poll interval of a condition with a deadline
    return process


def start_dashboard(
    path: Path, port: int, log: Path, app: Path = APP_PATH
) -> subprocess.Popen[bytes]:
    env = {"FITRAY_WAREHOUSE_BACKEND": "duckdb", "FITRAY_DUCKDB_PATH": str(path)}
    command = [str(app) if part == str(APP_PATH) else part for part in streamlit_command(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=path.parent,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_until_healthy(process, port)
    return process


def bare_first_visit(browser: Browser, url: str) -> tuple[float, dict[str, float]]:
    """Navigation start to the bare page's metric shown, in a fresh context; the browser's
    marks of the visit."""
    context = browser.chromium.new_context(viewport={"width": 1400, "height": 1400})
    try:
        page = context.new_page()
        page.add_init_script(OBSERVER % (KPI, 0))
        page.goto(url)
        page.wait_for_function("window.__bench.kpisAt")
        return float(page.evaluate("window.__bench.kpisAt")) / 1000, page.evaluate(MARKS)
    finally:
        context.close()


def _marks(visits: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per visit: first contentful paint, script files fetched, the last one's arrival."""
    return {
        "first_contentful_paint_s": [v["fcp"] for v in visits],
        "script_files": [v["scripts"] for v in visits],
        "scripts_done_s": [v["scripts_done"] for v in visits],
    }


def _page_cache_s() -> int:
    """The analysis page's cache, read from the page (its import is quieted: no runtime here)."""
    import logging

    import streamlit  # noqa: F401  # creates the logger silenced below

    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    from fitray.dashboard.views.analysis import CACHE_TTL_S

    return CACHE_TTL_S


def body_part_counts(path: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        sql = "SELECT body_part, COUNT(*) FROM exercises_enriched GROUP BY body_part"
        return {str(part): int(n) for part, n in con.execute(sql).fetchall()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Warehouse rows.")
    parser.add_argument("--rounds", type=int, default=5, help="Page rounds (fresh context each).")
    parser.add_argument("--port", type=int, default=8531, help="Port of the dashboard server.")
    args = parse_args(parser, argv, SMOKE)
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch:
        path = Path(scratch) / "warehouse.duckdb"
        started = time.perf_counter()
        build_warehouse(settings, path, args.rows)
        built_s = time.perf_counter() - started
        return _measure(args, settings.model_copy(update={"duckdb_path": path}), built_s)


def _all_panels(settings: Settings) -> None:
    fetch_options(settings)
    fetch_analysis(settings, Filters())


def _filtered(settings: Settings, body_part: str) -> None:
    fetch_analysis(settings, Filters(body_part=(body_part,)))


def _measure(args: argparse.Namespace, settings: Settings, built_s: float) -> int:
    path = settings.duckdb_file
    counts = body_part_counts(path)
    bench = Bench("dashboard", vars(args), size=args.rows, unit="rows")
    paint = bench.side("first_visit", "fitray: first visit, navigation -> KPIs shown", FITRAY)
    reload = bench.side("reload", "fitray: reload (browser cache warm) -> KPIs shown", FITRAY)
    change = bench.side("filter_change", "fitray: filter change, click -> KPI updated", FITRAY)
    sql_all = bench.side("sql_first_paint", "ceiling: the page's SQL alone (all panels)", CEILING)
    sql_one = bench.side("sql_filtered", "ceiling: the filtered panels' SQL alone", CEILING)
    bare = bench.side("bare_first_visit", "floor: bare Streamlit page (title, one metric), "
                      "first visit -> metric shown", CEILING)  # fmt: skip
    lite_paint = bench.side("lite_first_visit", "fitray --lite: first visit, navigation -> "
                            "KPIs painted", FITRAY)  # fmt: skip
    lite_change = bench.side("lite_filter_change", "fitray --lite: filter change, Apply -> "
                             "KPIs painted", FITRAY)  # fmt: skip
    server = start_dashboard(path, args.port, path.with_name("dashboard.log"))
    bare_server = start_dashboard(path, args.port + 1, path.with_name("bare.log"), BARE_APP)
    lite_server = start_lite(path, args.port + 2, path.with_name("lite.log"))
    browser, bare_marks = Browser(), []
    try:
        wait_s = _page_cache_s() + 1
        rounds = PageRounds(browser, dashboard_url(args.port), counts, wait_s)
        lite = LiteRounds(browser, dashboard_url(args.port + 2), counts)
        for index in range(args.rounds):
            part = BODY_PARTS[index % len(BODY_PARTS)]
            if index:
                time.sleep(wait_s)  # past the page's cache: every round reads the warehouse
            rounds.run(part)
            lite.run(part)
            seconds, marks = bare_first_visit(browser, dashboard_url(args.port + 1))
            bare.seconds.append(seconds)
            bare_marks.append(marks)
            interleave(1, [(sql_all, partial(_all_panels, settings)),
                           (sql_one, partial(_filtered, settings, part))])  # fmt: skip
    finally:
        browser.close()
        for process in (server, bare_server, lite_server):
            process.terminate()
            process.wait(timeout=20)
    times = rounds.times
    paint.seconds, reload.seconds = times["first_visit"], times["reload"]
    change.seconds = times["filter_change"]
    paint.extra = {"charts_drawn_s": times["charts_drawn"], "load_event_s": times["page_loaded"],
                   **_marks(rounds.marks)}  # fmt: skip
    bare.extra = _marks(bare_marks)
    reload.extra = {"charts_drawn_s": times["reload_charts_drawn"]}
    lite_paint.seconds, lite_change.seconds = lite.times["first_visit"], lite.times["filter_change"]
    lite_paint.extra = {"load_event_s": lite.times["page_loaded"],
                        "first_contentful_paint_s": lite.times["fcp"]}  # fmt: skip
    lite_change.extra = {"load_event_s": lite.times["filter_loaded"]}
    bench.ratio(sql_all, paint)
    bench.ratio(sql_all, reload)
    bench.ratio(sql_one, change)
    bench.ratio(bare, paint)
    bench.ratio(sql_all, lite_paint)
    bench.ratio(sql_one, lite_change)
    bench.ratio(lite_paint, paint)  # how many times sooner than the Streamlit page
    bench.note(f"warehouse of {args.rows:,} rows built from Arrow in {built_s:.1f} s (not timed)")
    bench.note("ratio vs SQL = page time / SQL time: what the server, the network and drawing add")
    bench.finish(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
