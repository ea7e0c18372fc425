"""The calorie API as an aiohttp application: routes, fault injection and counters.

``GET /v1/caloriesburned`` answers like API Ninjas; ``GET /health``, ``GET /stats`` and
``POST /stats/reset`` are for the stack and for tests and need no key. The order of checks on
the API route is: latency, API key (401), rate limit (429), injected fault, parameters (400).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import web

from fitray.calories.table import ActivityRow, load_activity_table

from .config import CalorieServiceConfig
from .faults import Fault, FaultInjector, ServiceStats, TokenBucket
from .query import InvalidQueryError, answer, parse_query

__all__ = ["STATE", "ServiceState", "create_app"]

log = logging.getLogger("services.calorie_api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

GARBAGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<h1>Checking your browser before accessing the API</h1>"
    "<p>This page is an injected fault: a proxy answered instead of the API.</p></body></html>"
)


class ServiceState:
    """Everything the handlers share: the table, the counters, the limiter and the faults."""

    def __init__(self, config: CalorieServiceConfig) -> None:
        self.config = config
        self.table = load_activity_table(config.table)
        self.stats = ServiceStats()
        self.faults = FaultInjector(config)
        self.api_key = config.required_key
        self.bucket = (
            TokenBucket(config.rate_limit_per_s, config.burst) if config.rate_limit_per_s else None
        )
        # The same few activities are asked again and again; the table never changes.
        self.search: Callable[[str], tuple[ActivityRow, ...]] = lru_cache(maxsize=4096)(
            lambda activity: tuple(self.table.search(activity))
        )

    def authorised(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        sent = request.headers.get("X-Api-Key", "")
        return hmac.compare_digest(sent.encode("utf-8", "replace"), self.api_key.encode("utf-8"))


STATE = web.AppKey("calorie_api_state", ServiceState)


def create_app(config: CalorieServiceConfig | None = None) -> web.Application:
    """Build the application; loading the table fails here, before anything listens."""
    app = web.Application(middlewares=[_json_errors])
    app[STATE] = ServiceState(config or CalorieServiceConfig())
    app.router.add_get("/v1/caloriesburned", calories_burned)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)
    app.router.add_post("/stats/reset", reset_stats)
    return app


async def calories_burned(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.requests += 1
    delay_s = state.faults.latency_s()
    if delay_s > 0:
        await asyncio.sleep(delay_s)
    if not state.authorised(request):
        state.stats.unauthorized += 1
        return _error(401, "missing or invalid X-Api-Key header")
    if state.bucket is not None and (retry_after_s := state.bucket.try_acquire()) is not None:
        state.stats.rejected_429 += 1
        limit = f"{state.bucket.rate_per_s:g} requests/s (burst {state.bucket.burst:g})"
        return _error(
            429,
            f"rate limit of {limit} exceeded; retry after {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )
    state.stats.accepted.add()
    return await _answer(request, state)


async def _answer(request: web.Request, state: ServiceState) -> web.Response:
    fault = state.faults.draw()
    if fault is Fault.ERROR:
        state.stats.errors_5xx += 1
        return _error(503, "service temporarily unavailable (injected fault); retry later")
    if fault is Fault.GARBAGE:
        state.stats.garbage += 1
        return web.Response(text=GARBAGE_PAGE, content_type="text/html")
    if fault is Fault.TIMEOUT:
        state.stats.timeouts += 1
        await asyncio.sleep(state.faults.hang_s)
    try:
        query = parse_query(request.query)
    except InvalidQueryError as exc:
        state.stats.bad_requests += 1
        return _error(400, str(exc))
    state.stats.ok += 1
    return web.json_response(answer(state.search(query.activity), query))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "activities": len(request.app[STATE].table)})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats.as_dict())


async def reset_stats(request: web.Request) -> web.Response:
    """Zero the counters and refill the rate-limit bucket: a test's next phase starts fresh."""
    state = request.app[STATE]
    state.stats.reset()
    if state.bucket is not None:
        state.bucket.refill()
    return web.json_response(state.stats.as_dict())


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths and unexpected failures answer JSON too, so clients parse one shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        message = (
            f"{exc.reason} for {request.method} {request.path}; the API is GET /v1/caloriesburned"
        )
        return _error(exc.status, message, headers=allow)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        request.app[STATE].stats.errors_5xx += 1
        return _error(500, "internal error in the calorie service; see its log")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
