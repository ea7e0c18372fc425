"""``fitray dashboard --lite``: the Exercises Analysis as one page drawn on the server.

The Streamlit page shows nothing until the browser has fetched and run its script files (over
a hundred; about 2 s to the KPIs here, BENCHMARKS.md). This page is finished HTML when it
leaves the server: the filters are a plain form (GET, so every view is a URL), the KPIs are
text, each chart is the report's Vega-Lite spec drawn to SVG by vl-convert, with its numbers in
a table under it. It carries no JavaScript at all, and its Content-Security-Policy allows none.
Every request reads the warehouse (options and panels through one connection), so a new batch
shows on the next reload. aiohttp serves it on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import signal
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from fitray.config import Settings
from fitray.dashboard.analysis import Analysis, Bar, read_bars, read_kpis, read_options
from fitray.dashboard.charts import vega_lite_spec
from fitray.dashboard.exceptions import WarehouseEmpty, WarehouseUnavailable
from fitray.dashboard.queries import CHARTS, DIMENSIONS, ChartSpec, Filters
from fitray.dashboard.report import STYLE, chart_sections, freshness_text, kpis_html
from fitray.dashboard.server import HOST, DashboardServerError, dashboard_url, port_is_free
from fitray.dashboard.source import open_reader
from fitray.exceptions import FitrayError

__all__ = ["CSP", "build_app", "filters_from_query", "page_parts", "render_page", "serve"]

TITLE = "Exercises Analysis"
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)  # no script may run, nothing may be fetched but the page itself
LITE_STYLE = """
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-start;margin:1rem 0}
form.filters details{border:1px solid #ccc;border-radius:.4rem;padding:.3rem .6rem;
  background:#fff;min-width:12rem}
form.filters summary{cursor:pointer}
form.filters .options{max-height:16rem;overflow-y:auto;padding-top:.3rem}
form.filters label{display:block;white-space:nowrap;padding:.1rem 0}
form.filters button{padding:.35rem 1rem}
section img{max-width:100%;height:auto}
.state.warn{background:#fff3cd}.state.error{background:#f8d7da}
"""
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
NO_ROWS = "No exercises match these filters; clear one to see more."
END = "</body></html>"
SETTINGS = web.AppKey("settings", Settings)
log = logging.getLogger(__name__)


def filters_from_query(query: MultiMapping[str]) -> Filters:
    """``?body_part=Chest&body_part=Biceps&level=Expert`` as Filters; other keys are ignored."""
    picked = {dim: tuple(v for v in query.getall(dim, ()) if v) for dim in DIMENSIONS}
    return Filters(**picked)


def page_parts(settings: Settings, filters: Filters) -> Generator[tuple[int, str], None, None]:
    """The page in two parts through one warehouse connection, each with the HTTP status:
    the top (filters, KPIs) as soon as the KPIs are read, then the charts and the end. A
    failure is one line in the page: in place of everything before the top is sent, in place
    of the charts after."""
    sent = False
    try:
        with open_reader(settings) as read:
            analysis = read_kpis(read, settings, filters)
            top = _top(filters, read_options(read), analysis)
            if not analysis.has_rows:
                yield 200, top + _state(NO_ROWS) + END
                return
            yield 200, top + kpis_html(analysis)
            sent = True
            yield 200, chart_sections(read_bars(read, settings, analysis), _svg_figure) + END
    except Exception as exc:
        status, line = _failure(exc)
        yield status, (line if sent else _top(filters, {}, None) + line) + END


def render_page(settings: Settings, filters: Filters) -> tuple[str, int]:
    """The whole page at once and its HTTP status."""
    parts = list(page_parts(settings, filters))
    return "".join(text for _, text in parts), parts[0][0]


def _failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, WarehouseEmpty):  # not a failure: nothing loaded yet
        return 200, _state(str(exc))
    if isinstance(exc, WarehouseUnavailable):
        return 503, _state(str(exc), "warn")
    if isinstance(exc, FitrayError):
        return 500, _state(str(exc), "error")
    log.error("the server-rendered Exercises Analysis failed", exc_info=exc)  # a bug
    return 500, _state(f"unexpected error ({type(exc).__name__}); see the dashboard's log", "error")


def _top(filters: Filters, options: dict[str, list[str]], analysis: Analysis | None) -> str:
    fresh = freshness_text(analysis).strip()
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE} - fitray</title><style>{STYLE}{LITE_STYLE}</style></head><body>"
        f"<h1>{TITLE}</h1>{_form(filters, options)}"
        f'<p class="fresh">Read from the warehouse just now{", " + _e(fresh) if fresh else ""}.'
        f' <a href="?{_e(_query(filters))}">Reload</a></p>'
    )


def _form(filters: Filters, options: dict[str, list[str]]) -> str:
    picked = dict(filters.items())
    boxes = []
    for dim, label in DIMENSIONS.items():
        chosen = picked[dim]
        values = list(dict.fromkeys([*options.get(dim, []), *chosen]))  # a URL's value stays
        items = "".join(
            f'<label><input type="checkbox" name="{dim}" value="{_e(v)}"'
            f"{' checked' if v in chosen else ''}> {_e(v)}</label>"
            for v in values
        )
        shown = ", ".join(chosen) if chosen else "All"
        boxes.append(
            f'<details data-filter="{dim}"><summary>{_e(label)}: <b>{_e(shown)}</b></summary>'
            f'<div class="options">{items}</div></details>'
        )
    return (
        f'<form class="filters" method="get" action="/">{"".join(boxes)}'
        '<button type="submit">Apply</button> <a href="/">Clear all</a></form>'
    )


def _svg_figure(chart: ChartSpec, bars: tuple[Bar, ...]) -> str:
    data = base64.b64encode(_svg(chart, bars)).decode()
    return f'<img decoding="async" alt="{_e(chart.title)}" src="data:image/svg+xml;base64,{data}">'


def _svg(chart: ChartSpec, bars: tuple[Bar, ...]) -> bytes:
    """The chart as SVG (an <img> runs nothing inside an SVG)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(vega_lite_spec(chart, bars))).encode()


def warm_up() -> None:
    """Start vl-convert's JavaScript engine (about a second) before the first visitor."""
    _svg(CHARTS[0], (Bar("warm-up", 1.0, 1),))


def _state(text: str, kind: str = "info") -> str:
    return f'<p class="state {kind}" role="status">{_e(text)}</p>'


def _query(filters: Filters) -> str:
    return urlencode([(dim, v) for dim, values in filters.items() for v in values])


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


async def _analysis_page(request: web.Request) -> web.StreamResponse:
    """Streams the page: the browser paints the KPIs while the server draws the charts."""
    parts = page_parts(request.app[SETTINGS], filters_from_query(request.query))
    try:
        status, top = await asyncio.to_thread(next, parts)
        response = web.StreamResponse(status=status, headers=HEADERS)
        response.content_type, response.charset = "text/html", "utf-8"
        await response.prepare(request)
        await response.write(top.encode())
        while (part := await asyncio.to_thread(next, parts, None)) is not None:
            await response.write(part[1].encode())
        await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(parts.close)  # a visitor gone mid-page: the connection closes


def build_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app.router.add_get("/", _analysis_page)
    return app


def serve(settings: Settings, port: int, ready: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM (both end it as ``KeyboardInterrupt``); ``ready(url)`` is
    called once the port listens and the chart engine is warm."""
    if not port_is_free(port):
        raise DashboardServerError(
            f"port {port} on {HOST} is in use by another process; pick another with --port"
        )
    asyncio.run(_serve(settings, port, ready))


async def _serve(settings: Settings, port: int, ready: Callable[[str], None]) -> None:
    runner = web.AppRunner(build_app(settings), access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await web.TCPSite(runner, HOST, port).start()
        await asyncio.to_thread(warm_up)
        ready(dashboard_url(port))
        await stop.wait()
    finally:
        await runner.cleanup()
    raise KeyboardInterrupt  # SIGTERM ends the server as Ctrl-C does
