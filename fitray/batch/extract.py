"""New documents out of MongoDB straight into Arrow (pymongoarrow), and the export marker.

Increments use an export marker instead of the original ``timestamp > max(timestamp)``: a
document is new while it has no ``loaded_in`` field, whatever its timestamps, so late writers
and documents sharing a second are never skipped. Documents are marked only *after* the
warehouse committed their load; a crash in between means they are read again and the
idempotent merge skips them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from fitray.batch.exceptions import ExtractError
from fitray.schema import STORED_WORKOUT_SCHEMA

__all__ = [
    "COLLECTION",
    "MARKER_FIELD",
    "ensure_marker_index",
    "extract_new_documents",
    "mark_loaded",
    "not_loaded_filter",
]

COLLECTION = "exercises_calories"
MARKER_FIELD = "loaded_in"
MARK_CHUNK = 5_000  # ids per update_many: keeps each $in small enough for FerretDB


def _pymongoarrow() -> Any:
    # pymongoarrow 1.15's Cython module is built against a slightly older pyarrow header and
    # warns at import that array structs grew; the layout it reads is unchanged (tested here).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"pyarrow\.lib\..* size changed")
        import pymongoarrow.api as api
    return api


def not_loaded_filter() -> dict[str, Any]:
    return {MARKER_FIELD: {"$exists": False}}


def ensure_marker_index(collection: Any) -> None:
    collection.create_index(MARKER_FIELD)


def extract_new_documents(collection: Any) -> pa.Table:
    """Every document not yet loaded, as :data:`STORED_WORKOUT_SCHEMA` (an explicit schema)."""
    from pymongo.errors import PyMongoError

    api = _pymongoarrow()
    # ``_id`` is the event_id (the consumer's idempotency key), and the key marking uses.
    schema = STORED_WORKOUT_SCHEMA.set(0, pa.field("_id", pa.string()))
    try:
        ensure_marker_index(collection)
        table = api.find_arrow_all(
            collection, not_loaded_filter(), schema=api.Schema.from_arrow(schema)
        )
    except PyMongoError as exc:
        raise ExtractError(f"reading {collection.full_name} failed: {exc}") from exc
    return table.rename_columns(STORED_WORKOUT_SCHEMA.names).cast(STORED_WORKOUT_SCHEMA)


def mark_loaded(collection: Any, event_ids: Iterable[str], load_id: str) -> int:
    """Set ``loaded_in = load_id`` on the given documents; returns how many were marked."""
    from pymongo.errors import PyMongoError

    marked = 0
    try:
        for chunk in _chunks(event_ids, MARK_CHUNK):
            result = collection.update_many(
                {"_id": {"$in": chunk}}, {"$set": {MARKER_FIELD: load_id}}
            )
            marked += result.modified_count
    except PyMongoError as exc:
        raise ExtractError(f"marking documents of load {load_id} failed: {exc}") from exc
    return marked


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
