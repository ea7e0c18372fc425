"""Where calories come from: one small interface, one implementation per backend.

:class:`HttpCalorieProvider` talks to an API-Ninjas-compatible ``caloriesburned`` endpoint
(the real API or ``services/calorie_api``) and maps every HTTP outcome to a typed error in
one place; :class:`TableCalorieProvider` answers from the activity table in-process. A
provider makes exactly one attempt per call: retries, rate limits and caching are the
client's job. The HTTP provider writes each request's query string itself (the activity
percent-encoded once per activity, numbers with 6 significant digits) rather than have
aiohttp encode a parameter dict per request: at hundreds of calls in flight, that encoding
was a fifth of the client's CPU per call.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr
from yarl import URL

from fitray.calories.exceptions import CalorieRejected, CalorieUnavailable
from fitray.calories.table import ActivityRow, ActivityTable, load_activity_table
from fitray.config import Settings

__all__ = [
    "CalorieProvider",
    "CalorieQuote",
    "HttpCalorieProvider",
    "TableCalorieProvider",
    "parse_answer",
    "parse_retry_after",
]

_ENDPOINT = "/v1/caloriesburned"
MAX_REMEMBERED_ACTIVITIES = 4_096  # the table answers by substring: any text may be asked


@dataclass(frozen=True, slots=True)
class CalorieQuote:
    activity: str  # the name the provider answered with
    kcal_per_hour: float
    total_kcal: float
    provider: str
    attempts: int = 1


class CalorieProvider(Protocol):
    name: str
    where: str  # for messages: the API's URL (never the key), or the local table

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        """One attempt; raises :class:`CalorieUnavailable` or :class:`CalorieRejected`."""
        ...

    async def aclose(self) -> None: ...


class HttpCalorieProvider:
    """aiohttp client of ``GET {base_url}/v1/caloriesburned``; the session opens on first use."""

    name = "http"
    enforces_timeout = True  # aiohttp's total timeout bounds each call: the client adds none
    _MAX_PREFIXES = 4096  # query prefixes remembered (one per activity asked)

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | None = None,
        *,
        timeout_s: float = 5.0,
        max_connections: int = 64,
    ) -> None:
        self._url = base_url.rstrip("/") + _ENDPOINT
        self.where = self._url
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._prefixes: dict[str, str] = {}  # activity -> URL up to "weight="

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpCalorieProvider:
        return cls(
            settings.calorie_api_url,
            settings.calorie_api_key,
            timeout_s=settings.calorie_timeout_s,
            max_connections=settings.calorie_concurrency,
        )

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        weight, duration = _num(weight_lb), _num(duration_min)
        try:
            async with self._open().get(self._request_url(activity, weight, duration)) as response:
                body = await response.read()
                status, ctype = response.status, response.content_type
                retry_after = response.headers.get("Retry-After") if status == 429 else None
        except TimeoutError:  # aiohttp's timeout; asyncio.TimeoutError is this class
            raise CalorieUnavailable(
                f"calorie API timed out after {self._timeout.total}s", code="timeout"
            ) from None
        except aiohttp.ClientError as exc:
            raise CalorieUnavailable(
                f"calorie API unreachable at {self._url}: {type(exc).__name__}", code="connection"
            ) from exc
        params = {"activity": activity, "weight": weight, "duration": duration}
        _check_status(status, body, params, parse_retry_after(retry_after))
        return self._quote(parse_answer(ctype, body, activity), activity)

    def _request_url(self, activity: str, weight: str, duration: str) -> URL:
        prefix = self._prefixes.get(activity)
        if prefix is None:
            if len(self._prefixes) >= self._MAX_PREFIXES:
                self._prefixes.clear()
            prefix = f"{self._url}?activity={quote(activity, safe='')}&weight="
            self._prefixes[activity] = prefix
        return URL(f"{prefix}{weight}&duration={duration}", encoded=True)

    def _quote(self, element: dict[str, Any], activity: str) -> CalorieQuote:
        return CalorieQuote(
            activity=str(element["name"]),
            kcal_per_hour=float(element["calories_per_hour"]),
            total_kcal=float(element["total_calories"]),
            provider=self.name,
        )

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._api_key is not None:
                headers["X-Api-Key"] = self._api_key.get_secret_value()
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=self._timeout, connector=connector
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TableCalorieProvider:
    """Answers from ``activities.csv`` in-process, matched as the API does; no HTTP at all."""

    name = "table"
    where = "the local calorie table"
    enforces_timeout = False
    in_process = True  # no API, no quota: the client takes no rate-limit token for it

    def __init__(self, table: ActivityTable) -> None:
        self._table = table
        self._rows: dict[str, ActivityRow] = {}  # activity asked -> the row that answers it

    @classmethod
    def from_file(cls, path: Path) -> TableCalorieProvider:
        return cls(load_activity_table(path))

    async def lookup(self, activity: str, weight_lb: float, duration_min: float) -> CalorieQuote:
        row = self._row(activity)
        kcal_per_hour = row.kcal_per_hour(weight_lb)
        return CalorieQuote(row.name, kcal_per_hour, kcal_per_hour * duration_min / 60, self.name)

    def kcal_per_hour_now(self, activity: str, weight_lb: float) -> float:
        """The answer at once, without the event loop: an in-process table needs no flight,
        no retry and no token, so the client asks it directly (see ``CalorieClient``)."""
        return self._row(activity).kcal_per_hour(weight_lb)

    def _row(self, activity: str) -> ActivityRow:
        row = self._rows.get(activity)
        if row is None:  # matched as the API does, once per activity asked
            rows = self._table.search(activity)
            if not rows:
                raise CalorieRejected(f"unknown activity {activity!r}", code="unknown_activity")
            wanted = activity.strip().casefold()
            row = next((r for r in rows if r.name.casefold() == wanted), rows[0])
            if len(self._rows) < MAX_REMEMBERED_ACTIVITIES:
                self._rows[activity] = row
        return row

    async def aclose(self) -> None:
        return None


def _check_status(
    status: int, body: bytes, params: dict[str, str], retry_after: float | None
) -> None:
    if status == 200:
        return
    if status == 429:
        raise CalorieUnavailable(
            "calorie API rate limit hit (429)", code="rate_limited", retry_after_s=retry_after
        )
    if status >= 500:
        raise CalorieUnavailable(f"calorie API server error ({status})", code="server_error")
    if status in (401, 403):
        raise CalorieRejected(
            f"calorie API refused the API key ({status}); check FITRAY_CALORIE_API_KEY",
            code="unauthorized",
        )
    if status == 404:
        raise CalorieRejected(
            f"calorie API endpoint {_ENDPOINT} not found (404); check FITRAY_CALORIE_API_URL",
            code="not_found",
        )
    raise CalorieRejected(
        f"calorie API rejected activity={params['activity']!r} weight={params['weight']} "
        f"duration={params['duration']} ({status}): {_error_text(body)}",
        code="bad_request",
    )


def parse_answer(content_type: str, body: bytes, activity: str) -> dict[str, Any]:
    """The element naming ``activity`` (case-insensitive), else the first; validates all."""
    if content_type != "application/json":
        raise _garbage(f"answered {content_type or 'no content type'} instead of JSON")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _garbage("answered malformed JSON") from None
    if not isinstance(data, list):
        raise _garbage(f"answered a JSON {type(data).__name__} instead of a list")
    if not data:
        raise CalorieRejected(
            f"unknown activity {activity!r}: the calorie API found no match",
            code="unknown_activity",
        )
    for element in data:
        _check_element(element)
    wanted = activity.strip().casefold()
    return next((e for e in data if e["name"].casefold() == wanted), data[0])


def _check_element(element: Any) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("name"), str):
        raise _garbage("answered a list element without a name")
    for field in ("calories_per_hour", "total_calories"):
        value = element.get(field)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value >= 0):  # type: ignore[arg-type,operator]
            raise _garbage(f"answered {field}={str(value)[:20]!r}, not a number >= 0")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _garbage(what: str) -> CalorieUnavailable:
    return CalorieUnavailable(f"calorie API {what}", code="garbage")


def _error_text(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", ""))[:200] or "no reason given"
    except (ValueError, AttributeError):
        return "no reason given"


def _num(value: float) -> str:
    return format(value, ".6g")
