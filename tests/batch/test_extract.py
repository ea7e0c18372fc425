"""The increment's read: by one range or by minute, the same documents, on what each store
pushes down (FerretDB on PostgreSQL and on SQLite, each a private server started by the stack's
own code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

from fitray.batch.extract import (
    BUCKET_FIELD,
    MAX_BUCKETS,
    extract_new_documents,
    minute_buckets,
    read_filters,
    store_reads_by,
    stored_minute,
)
from fitray.stream.sink import stamp
from tests.batch.conftest import FerretDB
from tests.warehouse.conftest import make_doc

NOW = datetime(2026, 11, 26, 12, 0, 30, 250_000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@settings(deadline=None)  # no timing in tests: the machine is shared
@given(st.datetimes(timezones=st.just(UTC)))
def test_the_sink_stamps_the_minute_the_batch_reads_by(stored_at: datetime) -> None:
    stored_at = stored_at.replace(microsecond=stored_at.microsecond // 1000 * 1000)  # BSON: ms
    document = stamp({"_id": "x"}, stored_at)
    assert document["stored_at"] == stored_at
    assert document[BUCKET_FIELD] == stored_minute(stored_at)
    assert document[BUCKET_FIELD] <= stored_at < document[BUCKET_FIELD] + MINUTE


def test_minute_buckets_cover_both_ends() -> None:
    since = NOW - timedelta(minutes=2, seconds=10)  # 11:58:20.25
    assert minute_buckets(since, NOW) == [
        datetime(2026, 11, 26, 11, 58, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 59, tzinfo=UTC),
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    ]
    assert minute_buckets(NOW, NOW - MINUTE) == []


def test_read_filters_by_minute_keep_the_exact_range_and_fall_back_when_too_many() -> None:
    since = NOW - timedelta(seconds=90)
    assert read_filters(None, NOW, "stored_minute") == [{}]
    assert read_filters(since, NOW, "stored_at") == [{"stored_at": {"$gte": since}}]
    by_minute = read_filters(since, NOW, "stored_minute")
    assert [f[BUCKET_FIELD] for f in by_minute] == minute_buckets(since, NOW)
    assert all(f["stored_at"] == {"$gte": since} for f in by_minute)
    long_ago = NOW - MINUTE * (MAX_BUCKETS + 1)
    assert read_filters(long_ago, NOW, "stored_minute") == [{"stored_at": {"$gte": long_ago}}]


def test_mongodb_reads_by_its_stored_at_index() -> None:
    """MongoDB's explain has no ``filterPushdown``: it runs every filter on its indexes."""

    class MongoDB:
        name = "exercises_calories"

        class database:
            @staticmethod
            def command(name: str, spec: dict[str, Any]) -> dict[str, Any]:
                assert name == "explain" and spec["find"] == "exercises_calories"
                return {"queryPlanner": {"winningPlan": {"stage": "FETCH"}}, "ok": 1.0}

    assert store_reads_by(MongoDB()) == "stored_at"


@pytest.fixture(params=["postgresql", "sqlite"])
def store(request: pytest.FixtureRequest, ferretdbs: dict[str, FerretDB]) -> Any:
    client: MongoClient = MongoClient(ferretdbs[request.param].url, tz_aware=True)
    database = client[f"extract_{request.param}"]
    yield request.param, database["exercises_calories"]
    client.drop_database(database.name)
    client.close()


def test_each_backend_is_read_by_what_it_pushes_down(store: tuple[str, Any]) -> None:
    backend, collection = store
    collection.insert_one(make_doc("a", NOW))
    expected = {"postgresql": "stored_minute", "sqlite": "stored_at"}[backend]
    assert store_reads_by(collection) == expected
    extract_new_documents(collection, None, until=NOW)
    assert f"{expected}_1" in collection.index_information()


@pytest.mark.parametrize("read_by", ["auto", "stored_at", "stored_minute"])
def test_every_read_returns_the_same_documents(store: tuple[str, Any], read_by: Any) -> None:
    _, collection = store
    since = NOW - timedelta(minutes=3, seconds=20)
    stamps = {
        "before": since - timedelta(milliseconds=1),
        "at-since": since,
        "same-minute-as-since": stored_minute(since) + timedelta(seconds=59),
        "same-second-a": NOW.replace(microsecond=0),
        "same-second-b": NOW.replace(microsecond=0),
        "at-until": NOW,
    }
    collection.insert_many([make_doc(name, at) for name, at in stamps.items()])
    table = extract_new_documents(collection, since, until=NOW, read_by=read_by)
    assert sorted(table["event_id"].to_pylist()) == sorted(set(stamps) - {"before"})
    assert extract_new_documents(collection, None, until=NOW).num_rows == len(stamps)


def test_a_stamp_after_until_waits_for_a_later_run(store: tuple[str, Any]) -> None:
    """A consumer whose clock runs ahead: read by the run whose window reaches its minute."""
    _, collection = store
    collection.insert_many([make_doc("now", NOW), make_doc("ahead", NOW + 2 * MINUTE)])
    since = NOW - MINUTE
    now_read = extract_new_documents(collection, since, until=NOW, read_by="stored_minute")
    assert now_read["event_id"].to_pylist() == ["now"]
    later = extract_new_documents(
        collection, since, until=NOW + 3 * MINUTE, read_by="stored_minute"
    )
    assert sorted(later["event_id"].to_pylist()) == ["ahead", "now"]


def test_postgresql_answers_a_minute_from_the_gin_companion(ferretdbs: dict[str, FerretDB]) -> None:
    """FerretDB pushes ``_jsonb -> 'stored_minute' @> value`` down; its own btree cannot serve
    ``@>``, the companion the stack's trigger adds can -- and goes when FerretDB drops its own."""
    store = ferretdbs["postgresql"]
    client: MongoClient = MongoClient(store.url, tz_aware=True)
    database = client["extract_gin"]
    try:
        collection = database["exercises_calories"]
        docs = [make_doc(f"d{i:05d}", NOW - timedelta(seconds=i)) for i in range(6_000)]
        collection.insert_many(docs)
        extract_new_documents(collection, None, until=NOW)  # creates the stored_minute index
        with store.pg() as conn:
            indexes = [r[0] for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'extract_gin'"
            ).fetchall()]  # fmt: skip
        companions = [name for name in indexes if name.endswith("_gin")]
        assert len(companions) == 1 and "stored_minute" in companions[0]
        plan = database.command(
            "explain", {"find": collection.name, "filter": {BUCKET_FIELD: stored_minute(NOW)}}
        )
        assert plan["filterPushdown"] is True
        assert companions[0] in str(plan["queryPlanner"]), plan["queryPlanner"]
        collection.drop_index(f"{BUCKET_FIELD}_1")
        with store.pg() as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname = %s", (companions[0],)
            ).fetchone()
        assert left == (0,)
    finally:
        client.drop_database(database.name)
        client.close()
