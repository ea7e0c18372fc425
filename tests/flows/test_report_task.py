"""The batch flow's last task, "refresh report": the static report of what the load committed.

After a real run the report folder holds report.html, whose KPIs are the warehouse's own
aggregates over the loaded rows, and one PNG per chart. A report that cannot be written never
fails a load that committed: the rows are there, the flow run is COMPLETED in Prefect, the
failed task is recorded, and the summary (and the CLI's table) says why.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pytest

from fitray.cli._console import console
from fitray.cli.batch import _render
from fitray.config import Settings
from fitray.dashboard.queries import CHARTS
from fitray.dashboard.report import REPORT_FILE
from flows.etl import run_batch_flow
from tests.flows.test_etl_flow import task_runs_of
from tests.stream.conftest import wait_for
from tests.warehouse.conftest import BASE_TIME, make_doc, query, seed

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KPI = re.compile(
    r'data-kpi="([^"]+)"><div class="label">[^<]*</div><div class="value"[^>]*>([^<]*)<'
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), path
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return int(width), int(height)


def test_a_run_on_ray_refreshes_the_report_with_the_loaded_rows(
    batch_settings: Settings, mongo_db: Any
) -> None:
    seed(mongo_db, [make_doc(f"r{i:03d}", BASE_TIME) for i in range(90)])
    folder = batch_settings.report_folder
    assert not folder.exists()

    summary = run_batch_flow(batch_settings, "duckdb")

    assert summary.rows_inserted == 90 and summary.report_error is None
    assert summary.report_files[0] == str(folder / REPORT_FILE)
    assert "refresh report" in summary.step_seconds
    charts = {Path(f).name for f in summary.report_files[1:]}
    assert charts <= {f"{c.key}.png" for c in CHARTS} and charts
    for name in charts:
        width, height = png_size(folder / name)
        assert width > 400 and height > 200  # a drawn chart, at scale 2
    rows, kcal, rating = query(
        "duckdb",
        batch_settings,
        "SELECT COUNT(*), AVG(kcal_per_hour_per_kg), AVG(rating) FROM exercises_enriched",
    )[0]
    kpis = dict(KPI.findall((folder / REPORT_FILE).read_text()))
    assert kpis == {
        "Total Exercises": f"{rows:,}",
        "Avg. Calories Burned per Hour per kg": f"{kcal:,.2f}",
        "Avg. Exercise Rating": f"{rating:,.2f}",
    }
    assert rows == 90


def test_a_report_that_cannot_be_written_leaves_the_committed_load_and_says_why(
    batch_settings: Settings, mongo_db: Any, tmp_path: Path
) -> None:
    seed(mongo_db, [make_doc(f"f{i:03d}", BASE_TIME) for i in range(40)])
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the report folder should be")
    settings = batch_settings.model_copy(update={"report_dir": blocked})

    summary = run_batch_flow(settings, "duckdb", local=True)

    assert (summary.documents_read, summary.rows_inserted) == (40, 40)
    assert query("duckdb", settings, "SELECT COUNT(*) FROM exercises_enriched") == [(40,)]
    assert summary.report_files == ()
    assert summary.report_error is not None
    assert (
        summary.report_error.startswith("FileExistsError")
        and "not-a-folder" in summary.report_error
    )
    states = wait_for(
        lambda: (
            (runs := task_runs_of(settings, summary.flow_run_id or ""))
            and runs.get("refresh report")
            and runs
        ),
        30,
        "Prefect to record the report task",
    )
    assert states["refresh report"] == ["FAILED"] and states["load"] == ["COMPLETED"]
    assert flow_state(settings, summary.flow_run_id or "") == "COMPLETED"

    with console.capture() as captured:
        _render(summary)
    assert "not refreshed: FileExistsError" in captured.get()


def flow_state(settings: Settings, flow_run_id: str) -> str:
    import json
    import urllib.request

    url = f"{settings.prefect_api_url}/flow_runs/{flow_run_id}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(json.load(response)["state_type"])
