"""The dashboard's numbers against a warehouse filled by the batch flow, on DuckDB and PostgreSQL.

Each panel must equal hand-written SQL over the same rows; hostile filter values must be plain
data; an empty, missing, locked or unreachable warehouse must end in one clear line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from fitray.dashboard import source
from fitray.dashboard.analysis import LEVEL_ORDER, fetch_analysis, fetch_options
from fitray.dashboard.exceptions import WarehouseBusy, WarehouseEmpty, WarehouseUnavailable
from fitray.dashboard.queries import CHARTS, Filters
from fitray.warehouse.sql import create_loads_sql, create_target_sql
from tests.dashboard import expected
from tests.dashboard.conftest import UNRATED_EQUIPMENT, Warehouse, free_port, seed_documents

pytestmark = pytest.mark.slow
BACKENDS = pytest.mark.parametrize("filled_warehouse", ["duckdb", "postgres"], indirect=True)
HOSTILE = (
    "'; DROP TABLE exercises_enriched; --",
    "x' OR '1'='1",
    'Chest" OR 1=1 --',
    "%s",
    "%(x)s",
    "?",
    "$1",
    "\\",
    "Chest'); DELETE FROM loads; SELECT ('",
    "ünïcødé ✓ \x7f",
)


def picked_of(filters: Filters) -> dict[str, list[str]]:
    return {column: list(values) for column, values in filters.items()}


def assert_matches_sql(warehouse: Warehouse, filters: Filters) -> None:
    backend, settings = warehouse.backend, warehouse.settings
    analysis = fetch_analysis(settings, filters)
    rows, kcal, rating = expected.kpis(backend, settings, picked_of(filters))
    assert analysis.kpis.total_exercises == rows
    assert analysis.kpis.avg_kcal_per_hour_per_kg == pytest.approx(kcal, rel=1e-12)
    assert analysis.kpis.avg_rating == pytest.approx(rating, rel=1e-12)
    for chart in CHARTS:
        want = expected.breakdown(
            backend, settings, chart.dimension, chart.measure, picked_of(filters)
        )
        got = {bar.label: bar.value for bar in analysis.bars[chart.key]}
        assert got == pytest.approx(want, rel=1e-12), chart.key


@BACKENDS
def test_panels_hostile_values_null_ratings_and_new_batches(filled_warehouse: Warehouse) -> None:
    """One flow-filled warehouse per backend (the flow costs seconds), every property on it."""
    check_every_panel_equals_independent_sql(filled_warehouse)
    check_bars_are_ordered_as_the_original_sheet(filled_warehouse)
    check_hostile_filter_values_are_only_data(filled_warehouse)
    check_all_ratings_null_gives_none_not_nan(filled_warehouse)
    check_a_new_batch_shows_in_the_next_read(filled_warehouse)


def check_every_panel_equals_independent_sql(warehouse: Warehouse) -> None:
    options = fetch_options(warehouse.settings)
    assert len(options["body_part"]) >= 5 and set(options["level"]) == set(LEVEL_ORDER)
    assert UNRATED_EQUIPMENT in options["equipment"]
    two_parts = tuple(options["body_part"][:2])
    for filters in (
        Filters(),
        Filters(body_part=two_parts),  # several values in one filter
        Filters(body_part=two_parts, level=("Intermediate",)),  # two filters together
        Filters(exercise_type=("Strength", "Cardio"), equipment=tuple(options["equipment"][:3])),
    ):
        assert_matches_sql(warehouse, filters)
    everything = fetch_analysis(warehouse.settings, Filters())
    assert everything.kpis.total_exercises == warehouse.rows
    assert everything.loads == 1 and everything.last_load_at is not None
    assert "(unknown)" in {b.label for b in everything.bars["kcal_by_body_part"]}


def check_bars_are_ordered_as_the_original_sheet(warehouse: Warehouse) -> None:
    bars = fetch_analysis(warehouse.settings, Filters()).bars
    for key in ("kcal_by_body_part", "rating_by_body_part"):
        values = [b.value for b in bars[key]]
        assert values == sorted(values, reverse=True), key
    assert [b.label for b in bars["rating_by_level"]] == list(LEVEL_ORDER)


def check_hostile_filter_values_are_only_data(warehouse: Warehouse) -> None:
    settings = warehouse.settings
    for value in HOSTILE:
        for column in ("body_part", "equipment", "exercise_type", "level"):
            analysis = fetch_analysis(settings, Filters(**{column: (value,)}))
            assert analysis.kpis.total_exercises == 0, (column, value)
            assert analysis.kpis.avg_rating is None and analysis.bars == {}
    chest = fetch_analysis(settings, Filters(body_part=("Chest",)))
    mixed = fetch_analysis(settings, Filters(body_part=("Chest", *HOSTILE)))
    assert mixed.kpis == chest.kpis and chest.kpis.total_exercises > 0
    after = fetch_analysis(settings, Filters())  # nothing was dropped or deleted
    assert (after.kpis.total_exercises, after.loads) == (warehouse.rows, 1)


def check_all_ratings_null_gives_none_not_nan(warehouse: Warehouse) -> None:
    analysis = fetch_analysis(warehouse.settings, Filters(equipment=(UNRATED_EQUIPMENT,)))
    assert analysis.kpis.total_exercises > 0 and analysis.kpis.ratings == 0
    assert analysis.kpis.avg_rating is None
    assert analysis.kpis.avg_kcal_per_hour_per_kg is not None
    assert analysis.bars["rating_by_level"] == () and analysis.bars["rating_by_body_part"] == ()
    assert analysis.bars["kcal_by_equipment"][0].label == UNRATED_EQUIPMENT


def check_a_new_batch_shows_in_the_next_read(warehouse: Warehouse) -> None:
    before = fetch_analysis(warehouse.settings, Filters())
    assert warehouse.load_more(seed_documents("more", 30)) == 30
    after = fetch_analysis(warehouse.settings, Filters())
    assert after.kpis.total_exercises == before.kpis.total_exercises + 30
    assert after.loads == 2


def test_missing_and_empty_duckdb_warehouse(stack: object, tmp_path: Path) -> None:
    from fitray.config import get_settings

    settings = get_settings().model_copy(update={"duckdb_path": tmp_path / "w.duckdb"})
    with pytest.raises(WarehouseEmpty, match="FITRAY_DUCKDB_PATH"):
        fetch_analysis(settings, Filters())
    import duckdb

    duckdb.connect(str(settings.duckdb_file)).close()  # a file with no table yet
    with pytest.raises(WarehouseEmpty, match="no table exercises_enriched"):
        fetch_options(settings)
    with duckdb.connect(str(settings.duckdb_file)) as con:
        con.execute(create_target_sql("duckdb"))
        con.execute(create_loads_sql("duckdb"))
    with pytest.raises(WarehouseEmpty, match="holds no exercises yet"):
        fetch_analysis(settings, Filters())


def test_empty_postgres_warehouse(pg_database: str) -> None:
    from fitray.config import get_settings

    dbname = pg_database.rsplit("dbname=", 1)[1]
    settings = get_settings().model_copy(
        update={"warehouse_backend": "postgres", "postgres_database": dbname}
    )
    with pytest.raises(WarehouseEmpty, match="no table exercises_enriched"):
        fetch_options(settings)


def test_unreachable_postgres_names_the_setting(stack: object) -> None:
    from fitray.config import get_settings

    password = "pw-7Hq2-never-shown"
    settings = get_settings().model_copy(
        update={
            "warehouse_backend": "postgres",
            "postgres_port": free_port(),
            "postgres_password": SecretStr(password),
        }
    )
    with pytest.raises(WarehouseUnavailable) as caught:
        fetch_options(settings)
    message = str(caught.value)
    assert "FITRAY_POSTGRES_PORT" in message and "\n" not in message
    assert password not in message


def test_duckdb_held_by_a_writer_is_busy_then_readable(
    stack: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitray.config import get_settings

    settings = get_settings().model_copy(update={"duckdb_path": tmp_path / "w.duckdb"})
    holds_the_file = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "sys.stdin.read()"
    )
    command = [sys.executable, "-c", holds_the_file, str(settings.duckdb_file)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == b"held\n"
        monkeypatch.setattr(source, "DUCKDB_LOCK_WAIT_S", 0.5)
        with pytest.raises(WarehouseBusy, match="stayed locked by another process"):
            fetch_analysis(settings, Filters())
        holder.stdin.close()  # the writer ends
        holder.wait(timeout=30)
    with pytest.raises(WarehouseEmpty):  # the writer is gone: readable (and still empty)
        fetch_analysis(settings, Filters())
