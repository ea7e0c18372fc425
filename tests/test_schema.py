"""The schema module: one shape per record, validated strictly, with matching Arrow schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.schema import (
    ENRICHED_WORKOUT_SCHEMA,
    MAX_WEIGHT_LB,
    MIN_WEIGHT_LB,
    RAW_WORKOUT_SCHEMA,
    EnrichedWorkout,
    InvalidRecord,
    RawWorkout,
    parse_enriched,
    parse_raw,
)

VALID = {
    "event_id": "evt-1",
    "title": "Barbell Deadlift",
    "weight_lb": 180.0,
    "duration_min": 45,
    "event_time": "2026-11-25T10:00:00Z",
}


def test_arrow_schemas_have_exactly_the_model_fields() -> None:
    assert RAW_WORKOUT_SCHEMA.names == list(RawWorkout.model_fields)
    assert ENRICHED_WORKOUT_SCHEMA.names == list(EnrichedWorkout.model_fields)


def test_valid_json_parses_with_units_and_utc_time() -> None:
    workout = parse_raw(json.dumps(VALID).encode())
    assert workout.weight_lb == 180.0
    assert workout.duration_min == 45.0
    assert workout.event_time == datetime(2026, 11, 25, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"weight_lb": "180"}, "weight_lb"),  # numbers must be numbers
        ({"weight_lb": True}, "weight_lb"),
        ({"weight_lb": 49.9}, "weight_lb"),
        ({"weight_lb": 500.1}, "weight_lb"),
        ({"duration_min": 0}, "duration_min"),
        ({"duration_min": 1441}, "duration_min"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 257}, "title"),
        ({"event_id": ""}, "event_id"),
        ({"event_time": "yesterday"}, "event_time"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_rejected_naming_the_field(change: dict, where: str) -> None:
    with pytest.raises(InvalidRecord, match=f"^{where}: "):
        parse_raw({**VALID, **change})


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe", b"null", b"{}"])
def test_garbage_payloads_are_invalid_records_not_crashes(payload: bytes) -> None:
    with pytest.raises(InvalidRecord):
        parse_raw(payload)


def test_missing_field_is_named() -> None:
    record = dict(VALID)
    del record["duration_min"]
    with pytest.raises(InvalidRecord, match="duration_min: Field required"):
        parse_raw(record)


@given(
    weight=st.floats(min_value=MIN_WEIGHT_LB, max_value=MAX_WEIGHT_LB),
    duration=st.floats(min_value=0.01, max_value=1440),
)
def test_every_in_range_workout_round_trips_through_json(weight: float, duration: float) -> None:
    workout = parse_raw({**VALID, "weight_lb": weight, "duration_min": duration})
    assert parse_raw(workout.model_dump_json()) == workout


@given(
    weight=st.one_of(
        st.floats(max_value=MIN_WEIGHT_LB, exclude_max=True),
        st.floats(min_value=MAX_WEIGHT_LB, exclude_min=True),
        st.just(float("nan")),
    )
)
def test_out_of_range_or_nan_weights_never_pass(weight: float) -> None:
    with pytest.raises(InvalidRecord):
        parse_raw({**VALID, "weight_lb": weight})


def test_enriched_requires_provenance() -> None:
    with pytest.raises(InvalidRecord, match="activity: Field required"):
        parse_enriched(VALID)
