"""Idempotent bulk writes of enriched workouts into MongoDB (or FerretDB), keyed by event_id.

Document shape (the batch flow reads it): ``_id`` = event_id, every
:class:`~fitray.schema.EnrichedWorkout` field (datetimes as BSON dates, UTC), ``stored_at``,
when the consumer wrote it, and ``stored_minute``, that time truncated to its minute (the batch
reads increments by it where the store cannot push a range down). One
``insert_many(ordered=False)`` per batch: a duplicate ``_id`` (code 11000) is success -- the
event is already stored -- and every other per-record error is classified: transient codes are
retried, anything else is a data error for the dead-letter topic. A duplicate key on *another*
unique index (one an operator added) is not "already stored": MongoDB names the index
(``keyPattern``), FerretDB does not, so there the ``_id`` s are looked up before an event counts
as a duplicate. A failure of the whole call (server down, network) is :class:`StoreUnavailable`:
retry the same batch later, nothing is lost or doubled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fitray.clients.mongo import mongo_client
from fitray.config import Settings
from fitray.schema import EnrichedWorkout, stored_minute
from fitray.stream.exceptions import StoreUnavailable

__all__ = ["DUPLICATE_KEY", "MongoSink", "WriteOutcome", "stamp", "to_document"]

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
# Server codes worth another try: interrupted, not primary, write conflict, timeouts...
TRANSIENT_CODES = frozenset({6, 7, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435})


def to_document(workout: EnrichedWorkout, stored_at: datetime | None = None) -> dict[str, Any]:
    return stamp({"_id": workout.event_id, **workout.model_dump()}, stored_at or datetime.now(UTC))


def stamp(document: dict[str, Any], stored_at: datetime) -> dict[str, Any]:
    """Set ``stored_at`` and its minute (:func:`fitray.schema.stored_minute`)."""
    document["stored_at"] = stored_at
    document["stored_minute"] = stored_minute(stored_at)
    return document


@dataclass
class WriteOutcome:
    inserted: int = 0
    duplicates: int = 0
    retry: list[dict[str, Any]] = field(default_factory=list)  # transient per-record failures
    rejected: list[tuple[dict[str, Any], int, str]] = field(default_factory=list)  # doc, code, why


class MongoSink:
    """Writes to ``<mongo_database>.<stream_collection>``; connects on first use."""

    def __init__(self, settings: Settings, database: str | None = None) -> None:
        self.settings = settings
        self.database = database or settings.mongo_database
        self._client: Any = None

    @property
    def collection(self) -> Any:
        if self._client is None:
            self._client = mongo_client(self.settings, timeout_s=3.0, socket_timeout_s=30.0)
        return self._client[self.database][self.settings.stream_collection]

    def write(self, documents: list[dict[str, Any]]) -> WriteOutcome:
        from pymongo.errors import BulkWriteError, PyMongoError

        outcome = WriteOutcome()
        if not documents:
            return outcome
        # Stamp every attempt afresh: the batch flow's overlapping watermark relies on a
        # document becoming visible within one attempt (socketTimeoutMS) of its stored_at.
        stored_at = datetime.now(UTC)
        for document in documents:
            stamp(document, stored_at)
        try:
            result = self.collection.insert_many(documents, ordered=False)
            outcome.inserted = len(result.inserted_ids)
        except BulkWriteError as exc:
            outcome.inserted = exc.details.get("nInserted", 0)
            unsure: list[dict[str, Any]] = []
            for error in exc.details.get("writeErrors", []):
                self._classify(documents[error["index"]], error, outcome, unsure)
            if exc.details.get("writeConcernErrors"):
                raise StoreUnavailable(f"write concern not met: {exc.details}") from exc
            self._settle_duplicates(unsure, outcome)
        except PyMongoError as exc:
            raise StoreUnavailable(
                f"bulk write of {len(documents)} documents to {self.database}."
                f"{self.settings.stream_collection} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return outcome

    @staticmethod
    def _classify(
        document: dict[str, Any],
        error: dict[str, Any],
        outcome: WriteOutcome,
        unsure: list[dict[str, Any]],
    ) -> None:
        code = int(error.get("code", -1))
        if code == DUPLICATE_KEY and error.get("keyPattern") == {"_id": 1}:
            outcome.duplicates += 1
        elif code == DUPLICATE_KEY and "keyPattern" not in error:
            unsure.append(document)  # which index? (FerretDB does not say)
        elif code in TRANSIENT_CODES:
            outcome.retry.append(document)
        else:
            outcome.rejected.append((document, code, str(error.get("errmsg", ""))[:300]))

    def _settle_duplicates(self, unsure: list[dict[str, Any]], outcome: WriteOutcome) -> None:
        """Duplicates of an unnamed index: stored already if the ``_id`` is there, else some
        other unique index refused the document (a data error, dead-lettered)."""
        from pymongo.errors import PyMongoError

        if not unsure:
            return
        ids = [d["_id"] for d in unsure]
        try:
            present = {d["_id"] for d in self.collection.find({"_id": {"$in": ids}}, {"_id": 1})}
        except PyMongoError as exc:
            outcome.retry.extend(unsure)  # cannot tell now: the batch is retried as a whole
            log.warning("could not check %d duplicate keys: %s", len(unsure), exc)
            return
        for document in unsure:
            if document["_id"] in present:
                outcome.duplicates += 1
            else:
                why = "duplicate key on a unique index other than _id"
                outcome.rejected.append((document, DUPLICATE_KEY, why))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
