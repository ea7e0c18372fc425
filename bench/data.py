"""Seeded data the batch benchmarks share: merged rows and stored documents, any size.

The shapes are fitray's own (the merge of documents and the exercise CSV; the document the
stream's consumer stores), so a bench measures the real columns and types, not a toy table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from fitray.schema import STORED_WORKOUT_SCHEMA
from fitray.stream.sink import stamp

__all__ = [
    "BASE_TIME",
    "LEVELS",
    "TITLES",
    "ferretdb_sjson",
    "merged_rows",
    "stored_document",
    "stored_documents",
    "stored_rows",
]

BASE_TIME = datetime(2024, 5, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEVELS = ("Beginner", "Intermediate", "Expert")
# Titles of the exercise CSV, so the batch's merge finds their metadata.
TITLES = ("Barbell Deadlift", "Crunch", "Rope Jumping", "Dumbbell Bench Press", "Plank")


def merged_rows(n: int, seed: int = 7) -> pa.Table:
    """``n`` rows as the batch has them after the merge with the CSV (the metrics' input)."""
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "event_id": pa.array([f"b{i:09d}" for i in range(n)]),
            "title": pa.array(np.array(TITLES)[rng.integers(0, len(TITLES), n)]),
            "weight": rng.uniform(100, 250, n),
            "duration": rng.uniform(0, 90, n),
            "calories_per_hour_aprox": rng.uniform(100, 900, n),
            "total_calories_aprox": rng.uniform(0, 900, n),
            "description": pa.nulls(n, pa.string()),
            "exercise_type": pa.array(["Strength"] * n),
            "body_part": pa.array(["Back"] * n),
            "equipment": pa.nulls(n, pa.string()),
            "level": pa.array(np.array(LEVELS)[rng.integers(0, len(LEVELS), n)]),
            "rating": pa.array(rng.uniform(0, 10, n), mask=rng.random(n) < 0.6),
            "rating_desc": pa.nulls(n, pa.string()),
            "timestamp": pa.array(
                np.full(n, np.datetime64(BASE_TIME.replace(tzinfo=None), "ms")),
                pa.timestamp("ms", tz="UTC"),
            ),
        }
    )


def stored_document(i: int, stored_at: datetime) -> dict[str, Any]:
    """Document ``i`` as the stream's consumer stores it (``fitray.stream.sink.to_document``)."""
    weight_lb, duration_min = 120.0 + i % 80, 10.0 + i % 50
    document = {
        "_id": f"f{i:09d}", "event_id": f"f{i:09d}", "title": TITLES[i % len(TITLES)],
        "weight_lb": weight_lb, "duration_min": duration_min,
        "event_time": stored_at - timedelta(seconds=30),
        "activity": "Weight lifting, light workout",
        "resolution": "exact", "kcal_per_hour": 236.0, "total_kcal": 236.0 * duration_min / 60,
        "provider": "bench", "fetched_at": stored_at - timedelta(seconds=5), "attempts": 1,
        "fallback_used": False,
    }  # fmt: skip
    return stamp(document, stored_at)  # stored_at and stored_minute, as the sink writes them


def stored_documents(start: int, stop: int) -> list[dict[str, Any]]:
    """Documents ``start..stop-1``, one second apart from :data:`BASE_TIME`."""
    return [stored_document(i, BASE_TIME + timedelta(seconds=i)) for i in range(start, stop)]


def ferretdb_sjson(document: dict[str, Any]) -> str:
    """The text FerretDB 1.24 stores for ``document`` (its "sjson": a ``$s`` schema of every
    field's type and key order, then the values; dates as epoch milliseconds), for the flat
    shapes above: seeding a backend directly writes what FerretDB would. Benches compare it with
    what FerretDB itself wrote before relying on it."""
    kinds, values = [], []
    for key, value in document.items():
        kind, text = _sjson_value(value)
        kinds.append(f'"{key}":{{"t":"{kind}"}}')
        values.append(f'"{key}":{text}')
    keys = ",".join(f'"{key}"' for key in document)
    return '{"$s":{"p":{' + ",".join(kinds) + '},"$k":[' + keys + "]}," + ",".join(values) + "}"


def _sjson_value(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int) and -(2**31) <= value < 2**31:
        return "int", str(value)
    if isinstance(value, float) and (value == 0 or 1e-4 <= abs(value) < 1e15):
        # Go's encoding/json: shortest round-trip digits, no exponent in this range, no ".0"
        return "double", str(int(value)) if value.is_integer() else repr(value)
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and not set(value) & set('"\\<>&')
    ):
        return "string", json.dumps(value)
    if isinstance(value, datetime):
        return "date", str((value - EPOCH) // timedelta(milliseconds=1))
    raise TypeError(f"no sjson rendering here for {value!r}")  # keep seeding faithful


def stored_rows(n: int, titles: list[str], seed: int = 7) -> pa.Table:
    """``n`` documents as the extract returns them (:data:`STORED_WORKOUT_SCHEMA`), their titles
    drawn from ``titles`` plus 2 % that no exercise has."""
    rng = np.random.default_rng(seed)
    pool = np.array([*titles, "Not an exercise"], dtype=object)
    weights = np.full(len(pool), 0.98 / len(titles))
    weights[-1] = 0.02
    duration = rng.uniform(0, 90, n)
    kcal_per_hour = rng.uniform(100, 900, n)
    stamps = np.full(n, np.datetime64(BASE_TIME.replace(tzinfo=None), "ms"))
    columns = {
        "event_id": pa.array([f"s{i:09d}" for i in range(n)]),
        "title": pa.array(rng.choice(pool, n, p=weights), pa.string()),
        "weight_lb": rng.uniform(100, 250, n),
        "duration_min": duration,
        "event_time": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
        "activity": pa.array(["Weight lifting, light workout"] * n),
        "resolution": pa.array(["exact"] * n),
        "kcal_per_hour": kcal_per_hour,
        "total_kcal": kcal_per_hour * duration / 60,
        "provider": pa.array(["bench"] * n),
        "fetched_at": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
        "attempts": pa.array(np.ones(n, np.int64)),
        "fallback_used": pa.array(np.zeros(n, bool)),
        "stored_at": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
    }
    return pa.table({f.name: columns[f.name] for f in STORED_WORKOUT_SCHEMA}).cast(
        STORED_WORKOUT_SCHEMA
    )
