"""The static report: ``fitray dashboard --export`` and ``refresh_report`` (the batch's last step).

The HTML must be one self-contained file: no script, style, image or link fetched from
anywhere, opened from a file:// URL in headless Chromium with the KPIs visible, every chart
drawn and no console error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from fitray.dashboard.queries import CHARTS
from fitray.dashboard.report import REPORT_FILE, refresh_report
from tests.dashboard import expected
from tests.dashboard.conftest import ARTIFACTS, Warehouse, free_port, server_env

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Links(HTMLParser):
    """Every URL-bearing attribute of a page, and whether any script is loaded from a file."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.external_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "data", "poster", "srcset"} and value:
                self.urls.append(value)
        if tag == "script" and dict(attrs).get("src"):
            self.external_scripts += 1


def assert_self_contained(page: str) -> None:
    links = Links()
    links.feed(page)
    foreign = [
        url
        for url in links.urls
        if url.lower().startswith(("http://", "https://", "//"))
        and not url.lower().startswith(("http://127.0.0.1", "https://127.0.0.1"))
    ]
    assert foreign == [] and links.external_scripts == 0
    assert "<link" not in page.lower() and "@import" not in page.lower()
    assert "Content-Security-Policy" in page  # the browser would refuse any fetch anyway


def open_offline(browser: Any, path: Path, shot: str) -> Any:
    """Open ``path`` from disk; return (page, console errors, requests) once charts are drawn."""
    context = browser.new_context(viewport={"width": 1300, "height": 2400})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.extend([m.text] if m.type == "error" else []))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    charts = page.locator("div.vega")
    for index in range(charts.count()):
        charts.nth(index).locator("svg").first.wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    kpis = page.locator(".kpi .value").all_inner_texts()
    drawn = charts.count()
    context.close()
    assert errors == [], errors
    assert requests == [path.as_uri()]  # the file itself, nothing else
    return kpis, drawn


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitray", "dashboard", *args],
        env={**os.environ, **env, "COLUMNS": "300"},  # rich hard-wraps at 80 off a terminal
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_and_refresh_write_reports_that_open_offline(
    filled_warehouse: Warehouse, browser: Any, tmp_path: Path
) -> None:
    settings = filled_warehouse.settings
    picked = {"body_part": ["Chest", "Quadriceps"], "exercise_type": ["Strength"]}
    out = tmp_path / "exported.html"
    filters = ["--body-part", "Chest", "--body-part", "Quadriceps", "--exercise-type", "Strength"]
    done = run_cli(["--export", str(out), *filters], server_env(settings), tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "Body Part = Chest, Quadriceps" in done.stdout
    assert_self_contained(out.read_text())
    rows, kcal, rating = expected.kpis("duckdb", settings, picked)
    kpis, drawn = open_offline(browser, out, "report-export-filtered")
    assert kpis == [f"{rows:,}", f"{kcal:,.2f}", f"{rating:,.2f}"] and drawn == len(CHARTS)

    written = refresh_report(settings, tmp_path / "report")
    assert [p.name for p in written] == [REPORT_FILE] + [f"{c.key}.png" for c in CHARTS]
    for png in written[1:]:
        assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    assert_self_contained(written[0].read_text())
    kpis, drawn = open_offline(browser, written[0], "report-refreshed")
    assert kpis[0] == f"{filled_warehouse.rows:,}" and drawn == len(CHARTS)
    for png in written[1:]:  # kept with the screenshots, to look at
        (ARTIFACTS / f"report-{png.name}").write_bytes(png.read_bytes())


def test_refresh_on_an_empty_warehouse_writes_the_state_and_drops_stale_pictures(
    tmp_path: Path,
) -> None:
    from fitray.config import get_settings

    settings = get_settings().model_copy(update={"duckdb_path": tmp_path / "none.duckdb"})
    stale = tmp_path / "report" / f"{CHARTS[0].key}.png"
    stale.parent.mkdir()
    stale.write_bytes(PNG_MAGIC)
    assert refresh_report(settings, tmp_path / "report") == [tmp_path / "report" / REPORT_FILE]
    assert not stale.exists()
    assert "does not exist" in (tmp_path / "report" / REPORT_FILE).read_text()


def test_export_from_an_unreachable_warehouse_is_one_error_line(stack: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    env = {"FITRAY_WAREHOUSE_BACKEND": "postgres", "FITRAY_POSTGRES_PORT": str(free_port())}
    done = run_cli(["--export", str(out)], env, tmp_path)
    assert done.returncode == 1 and not out.exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "FITRAY_POSTGRES_PORT" in lines[0]
