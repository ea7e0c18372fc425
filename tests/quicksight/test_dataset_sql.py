"""The dataset's custom SQL runs on the warehouse table as fitray creates it, and its declared
columns are what the query returns. Redshift cannot run here; DuckDB runs the same plain
SELECT over the table built from the same DDL generator the loader uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from fitray.quicksight import Plan
from fitray.schema import WAREHOUSE_ROW_SCHEMA
from fitray.warehouse.sql import TARGET_TABLE, create_target_sql

QUICKSIGHT_TYPE = {"VARCHAR": "STRING", "DOUBLE": "DECIMAL", "INTEGER": "INTEGER"}


def custom_sql(plan: Plan) -> dict[str, Any]:
    (table,) = plan.resource("DataSet").create.params["PhysicalTableMap"].values()
    result: dict[str, Any] = table["CustomSql"]
    return result


def quicksight_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type):
        return "STRING"
    if pa.types.is_floating(arrow_type):
        return "DECIMAL"
    if pa.types.is_timestamp(arrow_type):
        return "DATETIME"
    raise AssertionError(f"no QuickSight type for {arrow_type}")


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(create_target_sql("duckdb"))
    names = WAREHOUSE_ROW_SCHEMA.names
    marks = ", ".join("?" for _ in names)
    for i, level in enumerate(["Beginner", "Intermediate", "Expert", None]):
        row = {name: None for name in names} | {
            "event_id": f"e{i}",
            "level": level,
            "rating": 8.5,
            "timestamp": datetime(2024, 5, 1, tzinfo=UTC),
        }
        connection.execute(
            f"INSERT INTO {TARGET_TABLE} ({', '.join(names)}) VALUES ({marks})",
            [row[n] for n in names],
        )
    return connection


def test_the_query_returns_exactly_the_declared_columns(
    plan: Plan, warehouse: duckdb.DuckDBPyConnection
) -> None:
    sql = custom_sql(plan)
    cursor = warehouse.execute(sql["SqlQuery"])
    returned = [(name, str(kind)) for name, kind, *_ in cursor.description]

    declared = [(c["Name"], c["Type"]) for c in sql["Columns"]]
    assert [name for name, _ in returned] == [name for name, _ in declared]
    for (name, duck_type), (_, quicksight) in zip(returned, declared, strict=True):
        expected = "DATETIME" if duck_type.startswith("TIMESTAMP") else QUICKSIGHT_TYPE[duck_type]
        assert quicksight == expected, name


def test_levels_rank_in_their_natural_order(
    plan: Plan, warehouse: duckdb.DuckDBPyConnection
) -> None:
    query = f"SELECT level, level_rank FROM ({custom_sql(plan)['SqlQuery']}) q ORDER BY event_id"
    assert warehouse.execute(query).fetchall() == [
        ("Beginner", 1),
        ("Intermediate", 2),
        ("Expert", 3),
        (None, None),
    ]


def test_every_warehouse_column_is_declared_with_its_type(plan: Plan) -> None:
    declared = {c["Name"]: c["Type"] for c in custom_sql(plan)["Columns"]}
    for field in WAREHOUSE_ROW_SCHEMA:
        assert declared.pop(field.name) == quicksight_type(field.type), field.name
    assert declared == {"level_rank": "INTEGER"}  # the only column the SQL adds


def test_the_query_reads_the_loaders_table(plan: Plan) -> None:
    assert custom_sql(plan)["SqlQuery"].endswith(f"FROM {TARGET_TABLE}")
