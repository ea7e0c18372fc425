"""The MongoDB sink against the real document store: duplicates, rejections, stamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fitray.config import Settings
from fitray.stream.sink import DUPLICATE_KEY, MongoSink


def docs(*ids: str, **fields: Any) -> list[dict[str, Any]]:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    return [{"_id": i, "event_id": i, "title": f"t-{i}", "stored_at": old, **fields} for i in ids]


def sink_for(stack: Settings, mongo_db: Any) -> MongoSink:
    return MongoSink(stack, mongo_db.name)


def test_an_id_already_stored_is_a_duplicate_skipped(stack: Settings, mongo_db: Any) -> None:
    sink = sink_for(stack, mongo_db)
    try:
        assert sink.write(docs("a", "b")).inserted == 2
        outcome = sink.write(docs("b", "c"))
    finally:
        sink.close()
    assert (outcome.inserted, outcome.duplicates, outcome.rejected) == (1, 1, [])


def test_another_unique_index_refusing_is_a_rejection_not_a_duplicate(
    stack: Settings, mongo_db: Any
) -> None:
    collection = mongo_db[stack.stream_collection]
    collection.create_index("title", unique=True)  # an operator's extra constraint
    sink = sink_for(stack, mongo_db)
    try:
        sink.write(docs("a"))
        clash = docs("new")[0] | {"title": "t-a"}  # a new event, a title already taken
        outcome = sink.write([clash, *docs("a")])
    finally:
        sink.close()
    assert (outcome.inserted, outcome.duplicates) == (0, 1)
    assert [(d["_id"], code) for d, code, _ in outcome.rejected] == [("new", DUPLICATE_KEY)]
    assert collection.count_documents({}) == 1


def test_stored_at_is_stamped_on_every_write_attempt(stack: Settings, mongo_db: Any) -> None:
    """The batch's overlapping watermark relies on it: a document is stamped when the write
    that stores it starts, not when its batch was first read from Kafka."""
    sink = sink_for(stack, mongo_db)
    batch, ms = docs("x", "y"), timedelta(milliseconds=1)  # BSON dates keep milliseconds
    try:
        first = datetime.now(UTC)
        sink.write(batch[:1])
        second = datetime.now(UTC)
        sink.write(batch)  # a retry of the whole batch: "x" is a duplicate, "y" is new
        done = datetime.now(UTC)
    finally:
        sink.close()
    stored = {
        d["_id"]: d["stored_at"].replace(tzinfo=UTC)
        for d in mongo_db[stack.stream_collection].find()
    }
    assert first - ms <= stored["x"] <= second  # stamped by the first attempt, kept
    assert second - ms <= stored["y"] <= done  # stamped by the retry, not the first read
