"""Pure parts of the "Pipeline health" page: the reconciliation's sentences, ages, SQL, JSON.

The stores themselves are exercised against the real servers in test_health_browser.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.dashboard.health import Health, LoadRow, WarehouseCounts, Window
from fitray.dashboard.kafka_counts import DeadLetterCount, KafkaCounts
from fitray.dashboard.mongo_counts import MongoCounts
from fitray.dashboard.queries import load_history_query, rows_since_query
from fitray.dashboard.reconcile import dead_letter_rows, findings, format_age
from fitray.dead_letters import CODE_MEANINGS, DeadLetterCode

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def kafka(messages: int | None = 100, lag: int = 0, *letters: DeadLetterCount) -> KafkaCounts:
    return KafkaCounts("127.0.0.1:9092", "enriched", "dead", "group", messages, lag, tuple(letters))


def mongo(documents: int | None = 100, stored_after: int | None = None) -> MongoCounts:
    return MongoCounts("fitness", "exercises_calories", documents, stored_after)


def warehouse(rows: int | None = 100, loads: int = 1) -> WarehouseCounts:
    return WarehouseCounts("duckdb", rows, total_loads=loads)


def texts(k: KafkaCounts, m: MongoCounts, w: WarehouseCounts) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in findings(k, m, w)]


def test_matching_counts_say_so() -> None:
    assert texts(kafka(3000), mongo(3000), warehouse(3000)) == [
        ("ok", "Kafka 3,000 = MongoDB 3,000: every message is stored"),
        ("ok", "MongoDB 3,000 = warehouse 3,000: every document is loaded"),
    ]


def test_each_cause_of_a_gap_is_named_with_its_number() -> None:
    letters = (
        DeadLetterCount("consume", "invalid_record", 4),
        DeadLetterCount("store", "store_rejected", 1),
    )
    (kind, text), _ = texts(kafka(3000, 10, *letters), mongo(2980), warehouse(2980))
    assert kind == "mismatch"
    assert text.startswith("Kafka 3,000 vs MongoDB 2,980: 20 not in MongoDB — ")
    assert "5 dead-lettered by the consumer" in text
    assert "10 not stored yet (consumer lag 10)" in text
    assert "5 unexplained: duplicates of stored events" in text


def test_dead_letters_alone_account_for_the_gap() -> None:
    letter = DeadLetterCount("consume", "invalid_record", 5)
    (kind, text), _ = texts(kafka(305, 0, letter), mongo(300), warehouse(300))
    assert kind == "ok" and text.endswith("5 dead-lettered by the consumer (invalid or refused)")


def test_more_in_mongodb_than_kafka_accounts_for() -> None:
    (kind, text), _ = texts(kafka(100), mongo(120), warehouse(120))
    assert kind == "mismatch" and "20 more in MongoDB" in text
    assert "MongoDB holds 20 more than Kafka accounts for" in text


def test_documents_not_loaded_yet_and_those_stored_before_the_watermark() -> None:
    _, (kind, text) = texts(kafka(340), mongo(340, stored_after=30), warehouse(300))
    assert kind == "mismatch"
    assert text.startswith("MongoDB 340 vs warehouse 300: 40 not loaded yet (30 stored after")
    assert "10 stored before it and still missing" in text
    assert text.endswith("the next `fitray batch` loads them")
    _, (_, text) = texts(kafka(5), mongo(5, stored_after=5), warehouse(0, loads=0))
    assert text.startswith("MongoDB 5 vs warehouse 0: 5 not loaded yet (no load has run yet)")


def test_more_rows_in_the_warehouse_than_documents() -> None:
    _, (kind, text) = texts(kafka(10), mongo(10), warehouse(12))
    assert kind == "mismatch" and "the warehouse holds 2 more" in text


def test_an_unreadable_store_is_named_and_nothing_is_compared_with_it() -> None:
    down = KafkaCounts("h:1", "enriched", "dead", "group", problem="Kafka at h:1 not reachable")
    assert texts(down, mongo(5), warehouse(5))[0] == (
        "unknown",
        "Kafka vs MongoDB: not compared (Kafka unreadable)",
    )
    gone = MongoCounts("db", "c", problem="MongoDB not reachable")
    assert [k for k, _ in texts(kafka(5), gone, warehouse(5))] == ["unknown", "unknown"]


def test_notes_for_what_never_reached_kafka_a_partial_read_and_missing_topics() -> None:
    counts = KafkaCounts(
        "h:1", "enriched", "dead", "group", 0, 0,
        (DeadLetterCount("enrich", "unknown_activity", 3), DeadLetterCount("source", "x", 1)),
        dead_letters_complete=False, missing_topics=("enriched",),
    )  # fmt: skip
    notes = [text for kind, text in texts(counts, mongo(0), warehouse(0)) if kind == "note"]
    assert notes == [
        "4 workouts never reached Kafka: dead-lettered at enrich 3, source 1",
        "dead letters: at least 4 (the read stopped at its cap or deadline; counts by code are "
        "partial)",
        "topic enriched does not exist yet: nothing was sent to it",
    ]


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 1000), st.integers(0, 1000))
def test_kafka_vs_mongo_is_ok_exactly_when_dead_letters_explain_the_whole_gap(
    sent: int, stored: int, dead: int, lag: int
) -> None:
    letter = DeadLetterCount("consume", "invalid_record", dead)
    (kind, text), _ = texts(kafka(sent, lag, letter), mongo(stored), warehouse(stored))
    assert (kind == "ok") == (sent - stored == dead and lag == 0)
    assert f"Kafka {sent:,}" in text and f"MongoDB {stored:,}" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (-5, "in the future (clocks differ)"),
        (0, "0 s ago"),
        (59.9, "59 s ago"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (3600 + 5 * 60, "1 h 05 min ago"),
        (86_400 * 3 + 3600 * 4, "3 d 4 h ago"),
    ],
)
def test_ages_read_as_words(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_every_code_is_shown_with_its_meaning() -> None:
    letters = [DeadLetterCount("consume", code.value, 1) for code in DeadLetterCode]
    rows = dead_letter_rows([*letters, DeadLetterCount("consume", "made_up", 2)])
    assert [r["meaning"] for r in rows[:-1]] == [CODE_MEANINGS[c] for c in DeadLetterCode]
    assert rows[-1]["meaning"] == "not a code this version of fitray knows"


def test_health_sql_binds_the_window_and_refuses_a_bad_limit() -> None:
    since = NOW - timedelta(hours=3)
    query = rows_since_query(since, "postgres")
    assert query.sql == 'SELECT COUNT(*) FROM exercises_enriched WHERE "timestamp" >= %s'
    assert query.params == (since,)
    assert load_history_query(5).sql.endswith("ORDER BY finished_at DESC LIMIT 5")
    for bad in (0, -1, True, "5; DROP TABLE loads"):
        with pytest.raises(ValueError, match="positive int"):
            load_history_query(bad)  # type: ignore[arg-type]


def test_the_json_document_holds_every_number_findings_and_ages() -> None:
    load = LoadRow("load-1", NOW - timedelta(minutes=5, seconds=3), NOW - timedelta(minutes=5),
                   None, NOW - timedelta(minutes=6), 300, 290, 10)  # fmt: skip
    health = Health(
        Window(24.0, NOW - timedelta(hours=24), NOW),
        kafka(305, 0, DeadLetterCount("consume", "invalid_record", 5)),
        mongo(300),
        WarehouseCounts("duckdb", 300, (load,), 1, NOW - timedelta(minutes=7), load.finished_at),
    )
    data = json.loads(json.dumps(health.to_dict()))
    assert data["kafka"]["messages"] == 305 and data["mongo"]["documents"] == 300
    assert data["kafka"]["dead_letters"] == [
        {"stage": "consume", "code": "invalid_record", "count": 5,
         "meaning": CODE_MEANINGS[DeadLetterCode.INVALID_RECORD]},
    ]  # fmt: skip
    assert data["warehouse"]["loads"][0]["duration_s"] == pytest.approx(3.0)
    assert data["warehouse"]["watermark"] == (NOW - timedelta(minutes=6)).isoformat()
    assert data["freshness"] == {"newest_event_age_s": 420.0, "last_load_age_s": 300.0}
    assert [f["kind"] for f in data["findings"]] == ["ok", "ok"]
    assert data["problems"] == [] and re.match(r"\d{4}-\d\d-\d\dT", data["window"]["start"])
