"""Batch benchmarks (not tests): ratios measured side by side in one run.

    python bench/bench_batch.py metrics --rows 1000000
    python bench/bench_batch.py load --rows 1000000 --insert-sample 20000
    python bench/bench_batch.py flow --docs 100000

metrics: pyarrow.compute vs the original's row-wise apply (pandas ``DataFrame.apply(axis=1)``
when pandas is installed, else the same per-row Python function over dicts — said in the output).
load: COPY (Arrow-rendered CSV) into PostgreSQL vs row-by-row INSERT on a sample, extrapolated.
flow: the in-process batch run vs the raw cost of reading the same documents into Arrow.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fitray.batch.metrics import LB_TO_KG, add_derived_metrics
from fitray.batch.transform import to_warehouse_rows
from fitray.config import get_settings

LEVELS = ["Beginner", "Intermediate", "Expert"]


def synthetic_rows(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ratings = rng.uniform(0, 10, n)
    return pa.table(
        {
            "event_id": pa.array([f"b{i:09d}" for i in range(n)]),
            "title": pa.array(np.array(["Barbell Deadlift", "Row"])[rng.integers(0, 2, n)]),
            "weight": rng.uniform(100, 250, n),
            "duration": rng.uniform(0, 90, n),
            "calories_per_hour_aprox": rng.uniform(100, 900, n),
            "total_calories_aprox": rng.uniform(0, 900, n),
            "description": pa.nulls(n, pa.string()),
            "exercise_type": pa.array(["Strength"] * n),
            "body_part": pa.array(["Back"] * n),
            "equipment": pa.nulls(n, pa.string()),
            "level": pa.array(np.array(LEVELS)[rng.integers(0, 3, n)]),
            "rating": pa.array(ratings, mask=rng.random(n) < 0.6),
            "rating_desc": pa.nulls(n, pa.string()),
            "timestamp": pa.array(
                [datetime(2024, 5, 1, tzinfo=UTC)] * n, pa.timestamp("ms", tz="UTC")
            ),
        }
    )


def original_row(row: dict[str, Any]) -> dict[str, Any]:
    """The original's per-row metric function (with the Expert fix, nulls kept)."""
    total, duration, weight = row["total_calories_aprox"], row["duration"], row["weight"]
    rating, factor = row["rating"], {"Beginner": 1.0, "Intermediate": 1.3, "Expert": 1.6}
    return {
        "kcal_per_minute": total / duration if duration else None,
        "kcal_per_lb": total / weight if weight else None,
        "enjoyment_weighted_kcal": total * rating / 10 if rating is not None else None,
        "level_weighted_kcal": total * factor.get(row["level"], float("nan")),
        "kcal_per_hour_per_kg": total / (duration * weight * LB_TO_KG) * 60 if duration else None,
    }


def bench_metrics(rows: int) -> None:
    table = synthetic_rows(rows)
    started = time.perf_counter()
    add_derived_metrics(table)
    arrow_s = time.perf_counter() - started
    try:
        import pandas  # noqa: F401

        frame, how = table.to_pandas(), "pandas DataFrame.apply(axis=1)"
        started = time.perf_counter()
        frame.apply(lambda r: original_row(r.to_dict()), axis=1)
    except ImportError:
        records, how = table.to_pylist(), "per-row Python over dicts (pandas not installed)"
        started = time.perf_counter()
        [original_row(r) for r in records]
    rowwise_s = time.perf_counter() - started
    report("metrics", rows, [("pyarrow.compute", arrow_s), (how, rowwise_s)])


def bench_load(rows: int, sample: int) -> None:
    import psycopg

    from fitray.warehouse.postgres import copy_arrow
    from fitray.warehouse.sql import create_target_sql

    settings = get_settings()
    data = to_warehouse_rows(synthetic_rows(rows), "bench", datetime.now(UTC))
    with psycopg.connect(settings.postgres_conninfo) as conn:
        conn.execute(create_target_sql("postgres", "bench_copy", temp=True))
        conn.execute(create_target_sql("postgres", "bench_insert", temp=True))
        started = time.perf_counter()
        copy_arrow(conn, "bench_copy", data)
        copy_s = time.perf_counter() - started
        cols = data.column_names
        sql = (
            f"INSERT INTO bench_insert ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
        )
        sample_rows = data.slice(0, sample).to_pylist()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for row in sample_rows:
                cur.execute(sql, [row[c] for c in cols])
        insert_s = (time.perf_counter() - started) * rows / sample
    slow = f"row-by-row INSERT ({sample} rows, extrapolated)"
    report("load", rows, [("COPY from Arrow CSV", copy_s), (slow, insert_s)])


def bench_flow(docs: int) -> None:
    from pymongo import MongoClient

    from fitray.batch.extract import extract_new_documents
    from fitray.batch.pipeline import run_batch

    scratch = Path(tempfile.mkdtemp(prefix="fitray-bench-"))
    settings = get_settings().model_copy(  # a fresh warehouse: no watermark, every doc is new
        update={"mongo_database": "bench_batch", "duckdb_path": scratch / "warehouse.duckdb",
                "staging_url": str(scratch / "staging")}
    )  # fmt: skip
    client: MongoClient = MongoClient(settings.mongo_url.get_secret_value())
    client.drop_database("bench_batch")
    col = client["bench_batch"]["exercises_calories"]
    base, started = datetime(2024, 5, 1, tzinfo=UTC), time.perf_counter()
    for offset in range(0, docs, 10_000):
        batch = range(offset, min(docs, offset + 10_000))
        col.insert_many([stored_document(i, base + timedelta(seconds=i)) for i in batch])
    print(f"seeded {docs} docs into FerretDB in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    extract_new_documents(col, None)
    raw_s = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_batch(settings, "duckdb")
    flow_s = time.perf_counter() - started
    print("step seconds:", {k: round(v, 2) for k, v in summary.step_seconds.items()})
    print(f"documents read {summary.documents_read}, rows inserted {summary.rows_inserted}")
    assert summary.rows_inserted == docs, "the flow must load every seeded document"
    report("flow", docs, [("raw read into Arrow", raw_s), ("whole batch run (in-process)", flow_s)])
    client.drop_database("bench_batch")


TITLES = ("Barbell Deadlift", "Crunch", "Rope Jumping", "Dumbbell Bench Press", "Plank")


def stored_document(i: int, stored_at: datetime) -> dict:
    """A document shaped as the stream's consumer stores it (fitray.stream.sink.to_document)."""
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


def report(name: str, rows: int, results: list[tuple[str, float]]) -> None:
    base = results[0][1]
    for label, seconds in results:
        rate = rows / seconds if seconds else float("inf")
        print(f"{name:8} {label:55} {seconds:9.3f} s {rate:14,.0f} rows/s  x{seconds / base:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["metrics", "load", "flow"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--insert-sample", type=int, default=20_000)
    parser.add_argument("--docs", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.what == "metrics":
        bench_metrics(args.rows)
    elif args.what == "load":
        bench_load(args.rows, args.insert_sample)
    else:
        bench_flow(args.docs)


if __name__ == "__main__":
    main()
