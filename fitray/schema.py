"""The single source of truth for every record shape fitray moves.

Each shape exists twice, kept in step by a test: a pydantic model that validates one record
(strict types, ranges, units in field names) and an Arrow schema for batches. Raw workouts come
from a source; enriched workouts carry calories and provenance through Kafka into MongoDB;
warehouse rows are what the batch flow loads (the original 19 columns plus audit columns).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from fitray.exceptions import TerminalError

__all__ = [
    "ENRICHED_WORKOUT_SCHEMA",
    "EXERCISE_CSV_COLUMNS",
    "EXERCISE_REFERENCE_SCHEMA",
    "MAX_DURATION_MIN",
    "MAX_WEIGHT_LB",
    "MIN_WEIGHT_LB",
    "RAW_WORKOUT_SCHEMA",
    "STORED_WORKOUT_SCHEMA",
    "WAREHOUSE_ROW_SCHEMA",
    "EnrichedWorkout",
    "InvalidRecord",
    "RawWorkout",
    "ResolutionMethod",
    "parse_enriched",
    "parse_raw",
    "stored_minute",
]

MIN_WEIGHT_LB = 50.0
MAX_WEIGHT_LB = 500.0
MAX_DURATION_MIN = 1440.0  # a day; anything longer is a data error, not a workout

EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
ResolutionMethod = Literal["exact", "normalised", "fallback"]


class InvalidRecord(TerminalError):
    """A record that does not fit its schema; ``reason`` is short enough for a DLQ header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class RawWorkout(_Record):
    """A workout as a source emits it: what was done, by whom (weight), for how long."""

    event_id: EventId
    title: Title
    weight_lb: float = Field(ge=MIN_WEIGHT_LB, le=MAX_WEIGHT_LB, allow_inf_nan=False)
    duration_min: float = Field(gt=0, le=MAX_DURATION_MIN, allow_inf_nan=False)
    event_time: datetime


class EnrichedWorkout(RawWorkout):
    """A raw workout plus calories and where they came from (provenance)."""

    activity: str = Field(min_length=1, max_length=256)
    resolution: ResolutionMethod
    kcal_per_hour: float = Field(ge=0, allow_inf_nan=False)
    total_kcal: float = Field(ge=0, allow_inf_nan=False)
    provider: str = Field(min_length=1, max_length=64)
    fetched_at: datetime
    attempts: int = Field(ge=0)
    fallback_used: bool


_UTC_MS = pa.timestamp("ms", tz="UTC")

RAW_WORKOUT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("weight_lb", pa.float64(), nullable=False),
        pa.field("duration_min", pa.float64(), nullable=False),
        pa.field("event_time", _UTC_MS, nullable=False),
    ]
)

ENRICHED_WORKOUT_SCHEMA = RAW_WORKOUT_SCHEMA.append(
    pa.field("activity", pa.string(), nullable=False)
)
for _field in (
    pa.field("resolution", pa.string(), nullable=False),
    pa.field("kcal_per_hour", pa.float64(), nullable=False),
    pa.field("total_kcal", pa.float64(), nullable=False),
    pa.field("provider", pa.string(), nullable=False),
    pa.field("fetched_at", _UTC_MS, nullable=False),
    pa.field("attempts", pa.int32(), nullable=False),
    pa.field("fallback_used", pa.bool_(), nullable=False),
):
    ENRICHED_WORKOUT_SCHEMA = ENRICHED_WORKOUT_SCHEMA.append(_field)

# The original 19-column table, names kept so existing dashboards work, plus audit columns.
WAREHOUSE_ROW_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("weight", pa.float64()),
        pa.field("duration", pa.float64()),
        pa.field("calories_per_hour_aprox", pa.float64()),
        pa.field("total_calories_aprox", pa.float64()),
        pa.field("description", pa.string()),
        pa.field("exercise_type", pa.string()),
        pa.field("body_part", pa.string()),
        pa.field("equipment", pa.string()),
        pa.field("level", pa.string()),
        pa.field("rating", pa.float64()),
        pa.field("rating_desc", pa.string()),
        pa.field("kcal_per_minute", pa.float64()),
        pa.field("kcal_per_lb", pa.float64()),
        pa.field("enjoyment_weighted_kcal", pa.float64()),
        pa.field("level_weighted_kcal", pa.float64()),
        pa.field("kcal_per_hour_per_kg", pa.float64()),
        pa.field("timestamp", _UTC_MS),
        pa.field("load_id", pa.string()),
        pa.field("extracted_at", _UTC_MS),
    ]
)


# An enriched workout as the batch flow reads it back from MongoDB: every field nullable (a
# document may lack one; the flow must not crash on it) plus ``stored_at`` set by the consumer.
STORED_WORKOUT_SCHEMA = pa.schema(
    [f.with_nullable(True) for f in ENRICHED_WORKOUT_SCHEMA] + [pa.field("stored_at", _UTC_MS)]
)

# The exercise metadata CSV (data/megaGymDataset.csv): CSV header -> warehouse column name.
EXERCISE_CSV_COLUMNS = {
    "Title": "title",
    "Desc": "description",
    "Type": "exercise_type",
    "BodyPart": "body_part",
    "Equipment": "equipment",
    "Level": "level",
    "Rating": "rating",
    "RatingDesc": "rating_desc",
}

# The same metadata after validation, one row per title, named as in the warehouse.
EXERCISE_REFERENCE_SCHEMA = pa.schema(
    [pa.field("title", pa.string(), nullable=False)]
    + [WAREHOUSE_ROW_SCHEMA.field(name) for name in list(EXERCISE_CSV_COLUMNS.values())[1:]]
)


def parse_raw(data: bytes | str | dict[str, Any]) -> RawWorkout:
    """Validate one raw workout (JSON text or a decoded object); raises :class:`InvalidRecord`."""
    return _parse(RawWorkout, data)


def parse_enriched(data: bytes | str | dict[str, Any]) -> EnrichedWorkout:
    return _parse(EnrichedWorkout, data)


def _parse(model: type[RawWorkout], data: bytes | str | dict[str, Any]) -> Any:
    # Validate in JSON mode, strictly: numbers must be numbers, timestamps ISO 8601 text.
    if isinstance(data, dict):
        data = json.dumps(data, default=str)
    elif not isinstance(data, (bytes, str)):
        raise InvalidRecord(f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate_json(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise InvalidRecord(f"{where}: {first['msg']}") from None


def stored_minute(stored_at: datetime) -> datetime:
    """``stored_at`` truncated to its minute: the bucket the consumer stamps on each document
    and the batch reads by."""
    return stored_at.replace(second=0, microsecond=0)
