"""Derived metrics of DESIGN.md, vectorised with pyarrow.compute.

Pure functions: an Arrow table in, an Arrow table out. A metric whose inputs are missing, zero
where they divide, or not finite is null — never a made-up 0 and never NaN/inf, which some
drivers would write into the warehouse as the text 'NaN'.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DERIVED_METRICS",
    "LB_TO_KG",
    "LEVEL_FACTORS",
    "add_derived_metrics",
    "finite_or_null",
    "level_factor",
]

LB_TO_KG = 0.453592
# The original keyed 1.6 to "Advanced", a level the data does not have: Expert got 1.0.
LEVEL_FACTORS = {"Beginner": 1.0, "Intermediate": 1.3, "Expert": 1.6}
_NULL = pa.scalar(None, pa.float64())
DERIVED_METRICS = (
    "kcal_per_minute",
    "kcal_per_lb",
    "enjoyment_weighted_kcal",
    "level_weighted_kcal",
    "kcal_per_hour_per_kg",
)


def finite_or_null(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Float values with NaN and +/-inf replaced by null."""
    values = pc.cast(values, pa.float64())
    return pc.if_else(pc.is_finite(values), values, _NULL)


def _positive_or_null(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Finite values above zero; anything else null (so a division by it is null)."""
    return pc.if_else(pc.greater(values, 0.0), values, _NULL)  # NaN > 0 is false


def level_factor(levels: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Level name -> weighting factor; an unknown or missing level gives null."""
    if pa.types.is_dictionary(levels.type):  # joined metadata: factor each distinct name once
        levels = levels.combine_chunks() if isinstance(levels, pa.ChunkedArray) else levels
        return pc.take(level_factor(levels.dictionary), levels.indices)
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
    """Append (or replace) the five derived metric columns, computed from the named inputs.

    Each input is made finite (or null) once; a metric is null where an input is null, a
    divisor is not above zero, or the result is not finite. About 40 passes over the columns.
    """
    total_kcal = finite_or_null(table[total])
    duration_min, weight_lb = finite_or_null(table[duration]), finite_or_null(table[weight])
    per_minute_of = _positive_or_null(duration_min)
    weight_kg = pc.multiply(_positive_or_null(weight_lb), LB_TO_KG)
    minutes_kg = _positive_or_null(finite_or_null(pc.multiply(duration_min, weight_kg)))
    metrics = {
        "kcal_per_minute": finite_or_null(pc.divide(total_kcal, per_minute_of)),
        "kcal_per_lb": finite_or_null(pc.divide(total_kcal, _positive_or_null(weight_lb))),
        "enjoyment_weighted_kcal": finite_or_null(
            pc.multiply(total_kcal, pc.divide(finite_or_null(table[rating]), 10.0))
        ),
        "level_weighted_kcal": finite_or_null(pc.multiply(total_kcal, level_factor(table[level]))),
        "kcal_per_hour_per_kg": finite_or_null(
            pc.multiply(pc.divide(total_kcal, minutes_kg), 60.0)
        ),
    }
    for name, values in metrics.items():
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table


def weight_lb_kg(weight_lb: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.multiply(_positive_or_null(finite_or_null(weight_lb)), LB_TO_KG)
