"""The static report: one self-contained HTML file (KPIs + the five charts) and a PNG per chart.

Vega, Vega-Lite and vega-embed come from vl-convert's offline bundle and are inlined, so the
file opens from disk with no server and no network; its Content-Security-Policy forbids every
request anyway. KPIs and each chart's numbers are plain HTML, readable without JavaScript.
Files are written to a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import html
import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fitray.config import Settings
from fitray.dashboard.analysis import Analysis, Bar, fetch_analysis
from fitray.dashboard.charts import kpi_items, table_rows, vega_lite_spec
from fitray.dashboard.exceptions import WarehouseEmpty
from fitray.dashboard.queries import CHARTS, DIMENSIONS, ChartSpec, Filters

__all__ = [
    "REPORT_FILE",
    "STYLE",
    "chart_sections",
    "describe_filters",
    "freshness_text",
    "kpis_html",
    "refresh_report",
    "render_report_html",
    "table_html",
    "write_report",
]

REPORT_FILE = "report.html"
TITLE = "Exercises Analysis"
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:"
)  # Vega compiles its expressions with Function(): hence unsafe-eval, and nothing else
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#262730;max-width:1100px}
.kpis{display:flex;gap:1rem;margin:1rem 0 2rem}
.kpi{border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1.2rem;flex:1}
.kpi .label{font-size:.85rem;color:#555}.kpi .value{font-size:1.8rem;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:2rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ddd;padding:.2rem .5rem}
td:nth-child(n+2){text-align:right}.state{padding:1rem;background:#f0f2f6;border-radius:.5rem}
"""


@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    import vl_convert

    bundle: str = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    if "</script" in bundle.lower():  # would end the inline <script> early
        raise RuntimeError("vl-convert's JavaScript bundle cannot be inlined as is")
    return bundle


def describe_filters(filters: Filters) -> str:
    picked = [
        f"{DIMENSIONS[dim]} = {', '.join(values)}" for dim, values in filters.items() if values
    ]
    return "; ".join(picked) if picked else "all exercises (no filter)"


def render_report_html(
    analysis: Analysis | None, filters: Filters, state: str | None = None
) -> str:
    """The whole report as one HTML string; ``state`` replaces the panels when there is no data."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    head = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{TITLE}</title><style>{STYLE}</style></head><body>"
        f"<h1>{TITLE}</h1><p>Filters: {_e(describe_filters(filters))}. Generated {now}"
        f"{freshness_text(analysis)}.</p>"
    )
    if analysis is None or not analysis.has_rows:
        text = state or "No exercises match these filters."
        return f'{head}<p class="state" role="status">{_e(text)}</p></body></html>'
    return head + kpis_html(analysis) + _charts(analysis) + "</body></html>"


def write_report(settings: Settings, path: Path, filters: Filters | None = None) -> Path:
    """Write the HTML report for ``filters`` (default: all); an empty warehouse says so in it."""
    filters = filters or Filters()
    try:
        analysis: Analysis | None = fetch_analysis(settings, filters)
        state = None
    except WarehouseEmpty as exc:
        analysis, state = None, str(exc)
    _write_atomic(Path(path), render_report_html(analysis, filters, state).encode())
    return Path(path)


def refresh_report(settings: Settings, out_dir: Path) -> list[Path]:
    """report.html plus one PNG per chart with data, for all exercises; the batch flow's last step.

    Returns the files written. A PNG of a chart that has no data any more is removed, so the
    folder never shows a stale picture. Raises ``WarehouseUnavailable`` if it cannot read.
    """
    import vl_convert

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        analysis: Analysis | None = fetch_analysis(settings, Filters())
        state = None
    except WarehouseEmpty as exc:
        analysis, state = None, str(exc)
    written = [out_dir / REPORT_FILE]
    _write_atomic(written[0], render_report_html(analysis, Filters(), state).encode())
    bars = analysis.bars if analysis else {}
    for chart in CHARTS:
        png = out_dir / f"{chart.key}.png"
        if bars.get(chart.key):
            spec = vega_lite_spec(chart, bars[chart.key])
            _write_atomic(png, vl_convert.vegalite_to_png(spec, scale=2))
            written.append(png)
        else:
            png.unlink(missing_ok=True)
    return written


def kpis_html(analysis: Analysis) -> str:
    """The three KPIs as cards (``data-kpi`` names each)."""
    cards = "".join(
        f'<div class="kpi" data-kpi="{_e(label)}"><div class="label">{_e(label)}</div>'
        f'<div class="value" elementtiming="kpi">{_e(value)}</div></div>'
        for label, value in kpi_items(analysis.kpis)
    )
    return f'<div class="kpis">{cards}</div>'


def _charts(analysis: Analysis) -> str:
    specs: dict[str, dict[str, Any]] = {}

    def placeholder(chart: ChartSpec, bars: tuple[Bar, ...]) -> str:
        specs[chart.key] = vega_lite_spec(chart, bars)
        return f'<div class="vega" id="vega-{chart.key}"></div>'

    sections = chart_sections(analysis, placeholder)
    data = json.dumps(specs).replace("<", "\\u003c")  # no "</script>" can hide in a label
    script = (
        f"<script>{_vega_bundle()}</script><script>const specs = {data};\n"
        "for (const [key, spec] of Object.entries(specs)) {\n"
        "  vegaEmbed('#vega-' + key, spec, {actions: false, renderer: 'svg'})\n"
        "    .catch((err) => console.error(key, err));\n}</script>"
    )
    return sections + script


def chart_sections(analysis: Analysis, figure: Callable[[ChartSpec, tuple[Bar, ...]], str]) -> str:
    """One section per chart: ``figure``'s drawing and the numbers as a table, or one line."""
    sections = []
    for chart in CHARTS:
        bars = analysis.bars.get(chart.key, ())
        if bars:
            body = figure(chart, bars) + _table(table_rows(chart, bars))
        else:
            body = f'<p class="state">{_e(chart.title)}: no values for these filters.</p>'
        label = _e(chart.title)  # the chart draws its own title
        sections.append(f'<section id="{chart.key}" aria-label="{label}">{body}</section>')
    return f'<div class="charts">{"".join(sections)}</div>'


def table_html(rows: Iterable[dict[str, Any]], attrs: str = "") -> str:
    """Rows of the same keys as an HTML table (header from the first row; ints with commas)."""
    rows = list(rows)
    header = "".join(f"<th>{_e(name)}</th>" for name in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in r.values()) + "</tr>" for r in rows
    )
    return f"<table{attrs}><tr>{header}</tr>{body}</table>"


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(rows: Iterable[dict[str, str]]) -> str:
    return f"<details><summary>data</summary>{table_html(rows)}</details>"


def freshness_text(analysis: Analysis | None) -> str:
    """' from N loads (last ...)', or nothing before the first load."""
    if analysis is None or analysis.last_load_at is None:
        return ""
    last = analysis.last_load_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    plural = "" if analysis.loads == 1 else "s"
    return f" from {analysis.loads} load{plural} (last {last})"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # one name per writer: two runs refreshing the same folder never rename each other's file
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
