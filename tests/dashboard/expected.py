"""The page's numbers computed independently: hand-written SQL run straight on the warehouse.

Nothing here uses the dashboard's query builders. Filter values are trusted constants of the
tests (titles of the CSV), inlined as quoted literals, so a bug in the dashboard's parameter
binding cannot hide in both sides.
"""

from __future__ import annotations

from typing import Any

from fitray.config import Settings

__all__ = ["Expected", "breakdown", "kpis", "literal_where", "run_sql"]

Expected = dict[str, float]


def run_sql(backend: str, settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    if backend == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_file), read_only=True) as con:
            return con.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(settings.postgres_conninfo) as conn:
        return conn.execute(sql).fetchall()


def literal_where(picked: dict[str, list[str]]) -> str:
    quoted = {
        column: ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        for column, values in picked.items()
        if values
    }
    return " AND ".join(f"{c} IN ({v})" for c, v in quoted.items()) or "TRUE"


def kpis(backend: str, settings: Settings, picked: dict[str, list[str]]) -> tuple[Any, ...]:
    """(rows, mean kcal/h/kg, mean rating) of the rows matching ``picked``."""
    sql = (
        "SELECT COUNT(*), AVG(kcal_per_hour_per_kg), AVG(rating) FROM exercises_enriched "
        f"WHERE {literal_where(picked)}"
    )
    return run_sql(backend, settings, sql)[0]


def breakdown(
    backend: str, settings: Settings, dimension: str, measure: str, picked: dict[str, list[str]]
) -> Expected:
    """Label -> mean of ``measure`` per ``dimension``, over groups with at least one value."""
    sql = (
        f"SELECT COALESCE({dimension}, '(unknown)'), AVG({measure}) FROM exercises_enriched "
        f"WHERE {literal_where(picked)} AND {measure} IS NOT NULL "
        f"GROUP BY COALESCE({dimension}, '(unknown)')"
    )
    return {label: float(mean) for label, mean in run_sql(backend, settings, sql)}
