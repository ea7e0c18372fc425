"""Derived metrics: fitray's pyarrow.compute vs the original's row-wise pandas apply.

Both sides compute the same five metrics of the same seeded rows (the batch's merged table),
after the same warm-up on a small slice. fitray: ``add_derived_metrics`` over the Arrow table.
Original: ``DataFrame.apply(axis=1)`` of a per-row Python function (pandas is a dev
dependency), the DataFrame built before the clock starts. The fast side runs several rounds
(it takes a fraction of a second); the slow side runs once, in full.

    python -m bench.bench_metrics --help
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.data import merged_rows
from bench.harness import FITRAY, ORIGINAL, Bench, parse_args
from fitray.batch.metrics import LB_TO_KG, LEVEL_FACTORS, add_derived_metrics

__all__ = ["main", "original_row"]

SMOKE = {"rows": 2_000, "rounds": 1}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Rows, both sides.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of the fast side.")
    args = parse_args(parser, argv, SMOKE)
    table = merged_rows(args.rows)
    frame = table.to_pandas()  # the original had a DataFrame already: not timed
    warm = min(args.rows, 10_000)
    add_derived_metrics(table.slice(0, warm))
    frame.head(warm).apply(lambda r: original_row(r.to_dict()), axis=1)

    bench = Bench("metrics", vars(args), size=args.rows, unit="rows")
    arrow = bench.side("pyarrow_compute", "fitray: add_derived_metrics (pyarrow.compute)", FITRAY)
    pandas = bench.side(
        "pandas_apply", "original: pandas DataFrame.apply(axis=1), per row", ORIGINAL
    )
    for _ in range(args.rounds):
        arrow.time(lambda: add_derived_metrics(table))
    result = pandas.time(lambda: frame.apply(lambda r: original_row(r.to_dict()), axis=1))
    assert len(result) == args.rows
    bench.ratio(arrow, pandas)
    bench.finish(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
