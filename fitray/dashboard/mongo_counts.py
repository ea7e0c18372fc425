"""MongoDB's side of the pipeline-health page: documents stored for a window of event time.

A count is one ``countDocuments`` on ``event_time`` (every stored workout has one), bounded
by ``maxTimeMS``: a document store without a usable index on it -- FerretDB 1.24 among them --
scans the collection (about 10k documents/s here), so a huge collection ends as a clear line,
not a page that hangs. Connection errors become one line naming ``FITRAY_MONGO_URL``, with
credentials redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fitray.clients.mongo import mongo_client
from fitray.config import Settings, redact_url

__all__ = ["COUNT_TIMEOUT_S", "MongoCounts", "count_stored_after", "read_mongo"]

CONNECT_TIMEOUT_S = 3.0
COUNT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class MongoCounts:
    """Documents of the window; ``stored_after`` only when asked (explaining a mismatch)."""

    database: str
    collection: str
    documents: int | None = None
    stored_after: int | None = None  # of those, stored after the warehouse's last watermark
    problem: str | None = None


def read_mongo(settings: Settings, since: datetime) -> MongoCounts:
    """Documents whose event time is at or after ``since``; never raises for a server problem."""
    counts = MongoCounts(settings.mongo_database, settings.stream_collection)
    found = _count(settings, counts, {"event_time": {"$gte": since}})
    return (
        replace(counts, problem=found)
        if isinstance(found, str)
        else replace(counts, documents=found)
    )


def count_stored_after(
    settings: Settings, since: datetime, counts: MongoCounts, watermark: datetime
) -> MongoCounts:
    """How many of the window's documents were stored after ``watermark`` (not loaded yet)."""
    query = {"event_time": {"$gte": since}, "stored_at": {"$gt": watermark}}
    found = _count(settings, counts, query)
    return (
        replace(counts, problem=found)
        if isinstance(found, str)
        else replace(counts, stored_after=found)
    )


def _count(settings: Settings, counts: MongoCounts, query: dict[str, Any]) -> int | str:
    """The count, or the one line that says why there is none."""
    from pymongo.errors import ExecutionTimeout, PyMongoError

    client = mongo_client(
        settings, timeout_s=CONNECT_TIMEOUT_S, socket_timeout_s=COUNT_TIMEOUT_S + 5
    )
    try:
        collection = client[counts.database][counts.collection]
        return int(collection.count_documents(query, maxTimeMS=int(COUNT_TIMEOUT_S * 1000)))
    except ExecutionTimeout:
        return _too_slow(counts)
    except PyMongoError as exc:
        return _unreachable(settings, exc)
    finally:
        client.close()


def _too_slow(counts: MongoCounts) -> str:
    return (
        f"MongoDB did not count {counts.database}.{counts.collection} within "
        f"{COUNT_TIMEOUT_S:g} s (a store without an index on event_time scans every document)"
    )


def _unreachable(settings: Settings, exc: Exception) -> str:
    from pymongo.errors import OperationFailure

    raw = settings.mongo_url.get_secret_value()
    url, secret = redact_url(raw), urlsplit(raw).password
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = re.split(r" \(configured timeouts|, Timeout:", first)[0]  # pymongo's long tail
    if secret:
        first = first.replace(secret, "***")
    if isinstance(exc, OperationFailure):
        return f"MongoDB at {url} refused the count ({first[:200]}); check FITRAY_MONGO_URL"
    return (
        f"MongoDB at {url} not reachable within {CONNECT_TIMEOUT_S:g} s ({first[:200]}); "
        "check FITRAY_MONGO_URL"
    )
