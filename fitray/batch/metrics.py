"""Derived metrics of DESIGN.md, vectorised with pyarrow.compute.

Pure functions: an Arrow table in, an Arrow table out. A metric whose inputs are missing, zero
where they divide, or not finite is null — never a made-up 0 and never NaN/inf, which some
drivers would write into the warehouse as the text 'NaN'.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["LB_TO_KG", "LEVEL_FACTORS", "add_derived_metrics", "finite_or_null", "level_factor"]

LB_TO_KG = 0.453592
# The original keyed 1.6 to "Advanced", a level the data does not have: Expert got 1.0.
LEVEL_FACTORS = {"Beginner": 1.0, "Intermediate": 1.3, "Expert": 1.6}


def finite_or_null(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Float values with NaN and +/-inf replaced by null."""
    values = pc.cast(values, pa.float64())
    return pc.if_else(pc.is_finite(values), values, pa.scalar(None, pa.float64()))


def _positive_or_null(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    values = finite_or_null(values)
    return pc.if_else(pc.greater(values, 0.0), values, pa.scalar(None, pa.float64()))


def _divide(numerator, denominator):  # type: ignore[no-untyped-def]
    # A null or non-positive denominator gives null (never a division by zero).
    return finite_or_null(pc.divide(finite_or_null(numerator), _positive_or_null(denominator)))


def level_factor(levels: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Level name -> weighting factor; an unknown or missing level gives null."""
    names = pa.array(list(LEVEL_FACTORS), pa.string())
    factors = pa.array(list(LEVEL_FACTORS.values()), pa.float64())
    return pc.take(factors, pc.index_in(pc.cast(levels, pa.string()), value_set=names))


def add_derived_metrics(
    table: pa.Table,
    *,
    total: str = "total_calories_aprox",
    duration: str = "duration",
    weight: str = "weight",
    rating: str = "rating",
    level: str = "level",
) -> pa.Table:
    """Append (or replace) the five derived metric columns, computed from the named inputs."""
    total_kcal = finite_or_null(table[total])
    duration_min = table[duration]
    weight_lb = table[weight]
    metrics = {
        "kcal_per_minute": _divide(total_kcal, duration_min),
        "kcal_per_lb": _divide(total_kcal, weight_lb),
        "enjoyment_weighted_kcal": finite_or_null(
            pc.multiply(total_kcal, pc.divide(finite_or_null(table[rating]), 10.0))
        ),
        "level_weighted_kcal": finite_or_null(pc.multiply(total_kcal, level_factor(table[level]))),
        "kcal_per_hour_per_kg": pc.multiply(
            _divide(total_kcal, pc.multiply(finite_or_null(duration_min), weight_lb_kg(weight_lb))),
            60.0,
        ),
    }
    for name, values in metrics.items():
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table


def weight_lb_kg(weight_lb: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.multiply(_positive_or_null(weight_lb), LB_TO_KG)
