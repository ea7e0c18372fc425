"""Merge with the exercise CSV + derived metrics: fitray's Arrow steps vs the original's pandas.

Both sides start from the same seeded documents (the extract's shape; titles of the real
exercise CSV, 2 % unknown) and the same validated reference (``read_exercises``: one row per
title, so neither join fans out), after the same warm-up on a small slice:

- fitray: ``merge_with_reference`` then ``to_warehouse_rows`` -- the flow's 'merge with CSV'
  and 'derived metrics' steps, as each slice task runs them (rows shaped for staging);
- original: ``DataFrame.merge(reference, on="title", how="left")``, the warehouse names, then
  ``DataFrame.apply(axis=1)`` of a per-row function computing the same five metrics (pandas
  is a dev dependency), both DataFrames built before the clock starts.

Information: each step of each side alone (which operation dominates), and the metrics alone
on already merged rows (the figure this bench gave before the join was included). The fast side
runs several rounds; the slow side once, in full. The metrics of both sides are compared on the
first rows before anything is timed.

    python -m bench.bench_metrics --help
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.data import stored_rows
from bench.harness import FITRAY, INFO, ORIGINAL, Bench, parse_args
from fitray.batch.metrics import DERIVED_METRICS, LB_TO_KG, LEVEL_FACTORS, add_derived_metrics
from fitray.batch.transform import WAREHOUSE_RENAMES, merge_with_reference, to_warehouse_rows
from fitray.config import get_settings
from fitray.exercises import read_exercises

__all__ = ["main", "original_row"]

SMOKE = {"rows": 2_000, "rounds": 1}
NOW = datetime(2024, 5, 2, tzinfo=UTC)


def original_row(row: dict[str, Any]) -> dict[str, Any]:
    """The original's per-row metrics (with fitray's fixes: Expert is 1.6, nulls stay null)."""
    total, duration, weight = row["total_calories_aprox"], row["duration"], row["weight"]
    rating, factor = row["rating"], LEVEL_FACTORS.get(row["level"])
    return {
        "kcal_per_minute": total / duration if duration else None,
        "kcal_per_lb": total / weight if weight else None,
        "enjoyment_weighted_kcal": total * rating / 10 if rating == rating else None,
        "level_weighted_kcal": total * factor if factor is not None else None,
        "kcal_per_hour_per_kg": total / (duration * weight * LB_TO_KG) * 60 if duration else None,
    }


class Sides:
    """The same documents and reference, as Arrow (fitray) and as DataFrames (the original)."""

    def __init__(self, rows: int) -> None:
        self.reference = read_exercises(get_settings().exercises_file)
        self.documents = stored_rows(rows, self.reference["title"].to_pylist())
        self.frame = self.documents.to_pandas()
        self.reference_frame = self.reference.to_pandas()
        self.parts: dict[str, float] = {}

    def fitray(self, documents: Any = None) -> Any:
        merged = merge_with_reference(self.documents if documents is None else documents,
                                      self.reference)  # fmt: skip
        return to_warehouse_rows(merged, "bench-metrics", NOW)

    def original(self, frame: Any = None) -> Any:
        """Merge then apply, each timed (which dominates is part of the result)."""
        started = time.perf_counter()
        merged = (self.frame if frame is None else frame).merge(
            self.reference_frame, on="title", how="left"
        )
        merged = merged.rename(columns=WAREHOUSE_RENAMES)
        self.parts["merge"] = time.perf_counter() - started
        started = time.perf_counter()
        metrics = merged.apply(lambda r: original_row(r.to_dict()), axis=1)
        self.parts["apply"] = time.perf_counter() - started
        return metrics


def agree(sides: Sides, n: int) -> None:
    """Both sides compute the same metrics for the same documents (checked, not timed)."""
    ours = sides.fitray(sides.documents.slice(0, n)).select(list(DERIVED_METRICS)).to_pylist()
    theirs = sides.original(sides.frame.head(n)).tolist()
    for a, b in zip(ours, theirs, strict=True):
        for name in DERIVED_METRICS:
            x, y = a[name], _finite(b[name])
            assert x == y or (x is not None and y is not None and math.isclose(x, y)), (a, b)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Documents, both sides.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of the fast side.")
    args = parse_args(parser, argv, SMOKE)
    sides = Sides(args.rows)
    agree(sides, min(args.rows, 10_000))  # also the warm-up of both sides

    bench = Bench("metrics", vars(args), size=args.rows, unit="rows")
    arrow = bench.side(
        "arrow_merge_metrics",
        "fitray: merge with CSV + derived metrics (Arrow lookup join, pyarrow.compute)",
        FITRAY,
    )
    pandas = bench.side(
        "pandas_merge_apply", "original: pandas merge + DataFrame.apply(axis=1), per row", ORIGINAL
    )
    merge = bench.side("arrow_merge", "info: fitray's merge with CSV alone", INFO)
    rows = bench.side("arrow_metrics", "info: fitray's derived metrics step alone", INFO)
    alone = bench.side("arrow_metrics_only", "info: add_derived_metrics on merged rows", INFO)
    pandas_merge = bench.side("pandas_merge", "info: the original's pandas merge alone", INFO)
    pandas_apply = bench.side("pandas_apply", "info: the original's row-wise apply alone", INFO)
    merged = merge_with_reference(sides.documents, sides.reference)
    renamed = merged.rename_columns([WAREHOUSE_RENAMES.get(n, n) for n in merged.column_names])
    for _ in range(args.rounds):
        arrow.time(sides.fitray)
        merge.time(lambda: merge_with_reference(sides.documents, sides.reference))
        rows.time(lambda: to_warehouse_rows(merged, "bench-metrics", NOW))
        alone.time(lambda: add_derived_metrics(renamed))
    result = pandas.time(sides.original)
    assert len(result) == args.rows
    pandas_merge.seconds, pandas_apply.seconds = [sides.parts["merge"]], [sides.parts["apply"]]
    bench.ratio(arrow, pandas)
    bench.ratio(merge, pandas_merge)
    bench.ratio(rows, pandas_apply)
    bench.ratio(alone, pandas_apply)
    bench.finish(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
