"""``fitray dashboard --lite``: Exercises Analysis and Pipeline health drawn on the server.

The Streamlit page shows nothing until the browser has fetched and run its script files (over
a hundred; about 2 s to the KPIs here, BENCHMARKS.md). These pages are finished HTML when they
leave the server: the filters are plain forms (GET, so every view is a URL), the KPIs are
text, each chart is the report's Vega-Lite spec drawn to SVG by vl-convert, with its numbers in
a table under it. They carry no JavaScript at all, and their Content-Security-Policy allows
none. The analysis streams: its KPIs are sent as soon as they are read, the charts after them.
Every request reads the stores again, so a new batch shows on the next reload. aiohttp serves
them on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import re
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
from fitray.dashboard.queries import CHARTS, DIMENSIONS, ChartSpec, Filters
from fitray.dashboard.reconcile import dead_letter_rows, format_age
from fitray.dashboard.report import (
    STYLE,
    chart_sections,
    freshness_text,
    kpis_html,
    table_html,
)
from fitray.dashboard.server import HOST, DashboardServerError, dashboard_url, port_is_free
from fitray.dashboard.source import open_reader
from fitray.exceptions import FitrayError

__all__ = [
    "CSP",
    "build_app",
    "filters_from_query",
    "page_parts",
    "render_health",
    "serve",
]

TITLE = "Exercises Analysis"
HEALTH_TITLE = "Pipeline health"
PAGES = (("/", TITLE), ("/health", HEALTH_TITLE))
MAX_WINDOW_HOURS = 24.0 * 90
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
nav{display:flex;gap:1.2rem;font-size:.95rem}nav a[aria-current]{font-weight:600;color:inherit}
.finding{padding:.5rem .8rem;margin:.4rem 0;border-radius:.4rem;list-style:none}
.finding.ok{background:#d4edda}.finding.mismatch,.finding.unknown{background:#fff3cd}
.finding.note{background:#f0f2f6}ul.findings{padding:0}.kpi .note{font-size:.8rem;color:#555}
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


def _failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, WarehouseEmpty):  # not a failure: nothing loaded yet
        return 200, _state(str(exc))
    if isinstance(exc, WarehouseUnavailable):
        return 503, _state(str(exc), "warn")
    if isinstance(exc, FitrayError):
        return 500, _state(str(exc), "error")
    log.error("a server-rendered page failed", exc_info=exc)  # a bug
    return 500, _state(f"unexpected error ({type(exc).__name__}); see the dashboard's log", "error")


def _shell(title: str) -> str:
    """The document up to the page's heading, with the navigation between the two pages."""
    current = ' aria-current="page"'
    links = "".join(
        f'<a href="{href}"{current if name == title else ""}>{name}</a>' for href, name in PAGES
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} - fitray</title><style>{STYLE}{LITE_STYLE}</style></head><body>"
        f'<nav aria-label="pages">{links}</nav><h1>{title}</h1>'
    )


def _top(filters: Filters, options: dict[str, list[str]], analysis: Analysis | None) -> str:
    fresh = freshness_text(analysis).strip()
    return (
        f"{_shell(TITLE)}{_form(filters, options)}"
        f'<p class="fresh">Read from the warehouse just now{", " + _e(fresh) if fresh else ""}.'
        f' <a href="?{_e(_query(filters))}">Reload</a></p>'
    )


def render_health(settings: Settings, hours_text: str | None) -> tuple[str, int]:
    """The Pipeline health page for a window of ``hours_text`` hours (default 24) and its
    status. Each store that cannot answer is one line in its place (``fetch_health`` reads
    the three at once, each bounded)."""
    hours_text = hours_text or f"{DEFAULT_WINDOW_HOURS:g}"
    form = _window_form(hours_text)
    try:
        hours = float(hours_text)
        if not 0.25 <= hours <= MAX_WINDOW_HOURS:
            raise ValueError
    except ValueError:
        line = f"the window must be 0.25 to {MAX_WINDOW_HOURS:g} hours, not {hours_text!r}"
        return _shell(HEALTH_TITLE) + form + _state(line, "error") + END, 400
    try:
        health = fetch_health(settings, hours)
    except Exception as exc:
        status, line = _failure(exc)
        return _shell(HEALTH_TITLE) + form + line + END, status
    return _shell(HEALTH_TITLE) + form + _health_body(health, hours_text) + END, 200


def _window_form(hours_text: str) -> str:
    return (
        '<form class="filters" method="get" action="/health"><label>Window: hours of event '
        f'time <input type="number" name="hours" min="0.25" max="{MAX_WINDOW_HOURS:g}" '
        f'step="any" value="{_e(hours_text)}"></label> <button type="submit">Apply</button></form>'
    )


def _health_body(health: Health, hours_text: str) -> str:
    w, wh, k = health.window, health.warehouse, health.kafka
    caption = (
        f"Events of the last {w.hours:g} h: event time from {when_utc(w.start)} to "
        f"{when_utc(w.end)} UTC; Kafka counts by the time a message was sent. Read just now. "
        f'<a href="?hours={_e(hours_text)}">Reload</a>'
    )
    fresh = "".join(
        _card(f'data-fresh="{key}"', label, None, f"{label}: {UNREAD_WAREHOUSE}")
        if wh.problem
        else _card(f'data-fresh="{key}"', label, format_age(health.age_s(when)), None,
                   when_utc(when))
        for key, label, when in (
            ("event", "Newest loaded event", wh.newest_event_at),
            ("load", "Last load", wh.last_load_at),
        )
    )  # fmt: skip
    stages = "".join(
        _card(f'data-stage="{s.key}"', s.label, s.value, s.problem, s.note)
        for s in stage_counts(health)
    )
    findings = "".join(
        f'<li class="finding {f.kind}" data-kind="{f.kind}">{_prose(f.text)}</li>'
        for f in health.findings
    )
    if k.problem:
        letters = f'<p class="state">{UNREAD_KAFKA}</p>'
    elif not k.dead_letters:
        letters = '<p class="state">no dead letters in the window</p>'
    else:
        letters = table_html(dead_letter_rows(k.dead_letters), ' data-table="dead-letters"')
    if wh.problem or wh.empty:
        loads = f'<p class="state">{_e(UNREAD_WAREHOUSE if wh.problem else wh.empty)}</p>'
    else:
        loads = table_html(load_table(wh.loads), ' data-table="loads"')
    return (
        f'<p class="fresh">{caption}</p><div class="kpis">{fresh}</div>'
        f'<div class="kpis">{stages}</div><h2>Reconciliation</h2>'
        f'<ul class="findings">{findings}</ul><h2>Dead letters by stage and code</h2>{letters}'
        f"<h2>Loads (latest {len(wh.loads)} of {wh.total_loads:,})</h2>{loads}"
    )


def _card(attr: str, label: str, value: str | None, problem: str | None, note: str = "") -> str:
    body = (
        _state(problem, "warn")
        if problem
        else f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div>'
    )
    return f'<div class="kpi" {attr}><div class="label">{_e(label)}</div>{body}</div>'


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
    return f'<p class="state {kind}" role="status">{_prose(text)}</p>'


def _query(filters: Filters) -> str:
    return urlencode([(dim, v) for dim, values in filters.items() for v in values])


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: str) -> str:
    """A sentence of fitray's, escaped, its `commands` set as code (as Streamlit shows them)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


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


async def _health_page(request: web.Request) -> web.Response:
    settings, hours = request.app[SETTINGS], request.query.get("hours")
    text, status = await asyncio.to_thread(render_health, settings, hours)
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


def build_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app.router.add_get("/", _analysis_page)
    app.router.add_get("/health", _health_page)
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
