"""Seeded data the batch benchmarks share: merged rows and stored documents, any size.

The shapes are fitray's own (the merge of documents and the exercise CSV; the document the
stream's consumer stores), so a bench measures the real columns and types, not a toy table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["BASE_TIME", "LEVELS", "TITLES", "merged_rows", "stored_document", "stored_documents"]

BASE_TIME = datetime(2024, 5, 1, tzinfo=UTC)
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
    return {
        "_id": f"f{i:09d}", "event_id": f"f{i:09d}", "title": TITLES[i % len(TITLES)],
        "weight_lb": weight_lb, "duration_min": duration_min,
        "event_time": stored_at - timedelta(seconds=30),
        "activity": "Weight lifting, light workout",
        "resolution": "exact", "kcal_per_hour": 236.0, "total_kcal": 236.0 * duration_min / 60,
        "provider": "bench", "fetched_at": stored_at - timedelta(seconds=5), "attempts": 1,
        "fallback_used": False, "stored_at": stored_at,
    }  # fmt: skip


def stored_documents(start: int, stop: int) -> list[dict[str, Any]]:
    """Documents ``start..stop-1``, one second apart from :data:`BASE_TIME`."""
    return [stored_document(i, BASE_TIME + timedelta(seconds=i)) for i in range(start, stop)]
