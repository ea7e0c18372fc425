"""Derived metrics on edge values: nulls stay null, never NaN/inf, Expert weighs 1.6."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.batch.metrics import LEVEL_FACTORS, add_derived_metrics

METRICS = [
    "kcal_per_minute",
    "kcal_per_lb",
    "enjoyment_weighted_kcal",
    "level_weighted_kcal",
    "kcal_per_hour_per_kg",
]
floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
levels = st.one_of(st.none(), st.sampled_from([*LEVEL_FACTORS, "Advanced", ""]))


def table(**columns: list) -> pa.Table:
    types = {"level": pa.string()}
    return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in columns.items()})


def one_row(total=300.0, duration=30.0, weight=150.0, rating=8.0, level="Expert") -> dict:  # type: ignore[no-untyped-def]
    t = table(
        total_calories_aprox=[total],
        duration=[duration],
        weight=[weight],
        rating=[rating],
        level=[level],
    )
    return {k: v[0] for k, v in add_derived_metrics(t).to_pydict().items()}


def test_values_of_a_complete_row() -> None:
    row = one_row()
    assert row["kcal_per_minute"] == 10.0
    assert row["kcal_per_lb"] == 2.0
    assert row["enjoyment_weighted_kcal"] == pytest.approx(240.0)
    assert row["level_weighted_kcal"] == pytest.approx(480.0)  # Expert is 1.6, not 1.0
    assert row["kcal_per_hour_per_kg"] == pytest.approx(300 / (30 * 150 * 0.453592) * 60)


@pytest.mark.parametrize(("level", "factor"), [*LEVEL_FACTORS.items(), ("Advanced", None)])
def test_level_factors(level: str, factor: float | None) -> None:
    weighted = one_row(total=100.0, level=level)["level_weighted_kcal"]
    assert weighted == (None if factor is None else pytest.approx(100.0 * factor))


@pytest.mark.parametrize("duration", [0.0, -5.0, None, math.nan])
def test_zero_or_missing_duration_gives_null(duration: float | None) -> None:
    row = one_row(duration=duration)
    assert row["kcal_per_minute"] is None
    assert row["kcal_per_hour_per_kg"] is None
    assert row["kcal_per_lb"] == 2.0  # unaffected


def test_missing_rating_and_level_give_null_not_zero() -> None:
    row = one_row(rating=None, level=None)
    assert row["enjoyment_weighted_kcal"] is None
    assert row["level_weighted_kcal"] is None


@given(st.lists(st.tuples(floats, floats, floats, floats, levels), min_size=1, max_size=30))
def test_never_nan_or_inf_and_nulls_stay_null(rows: list[tuple]) -> None:
    total, duration, weight, rating, level = (list(c) for c in zip(*rows, strict=True))
    out = add_derived_metrics(
        table(
            total_calories_aprox=total, duration=duration, weight=weight, rating=rating, level=level
        )
    ).to_pydict()
    for name in METRICS:
        for i, value in enumerate(out[name]):
            assert value is None or math.isfinite(value)
            if total[i] is None or not math.isfinite(total[i]):
                assert value is None, (name, rows[i])
    for i, d in enumerate(duration):
        if d is None or not d > 0:
            assert out["kcal_per_minute"][i] is None
