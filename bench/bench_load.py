"""Warehouse loads: fitray's real load vs the original's row-by-row INSERT vs a raw COPY.

The same seeded rows (the batch's warehouse rows), staged once as Parquet the way the flow
stages them, go into fresh tables on every side and round:

- fitray, PostgreSQL: ``open_warehouse(settings, "postgres").load(staging, record)`` -- read
  the staged Parquet, binary COPY of the Arrow table (ADBC) into a temporary table, merge keyed
  on event_id into ``exercises_enriched``, the ``loads`` row, one transaction;
- original, PostgreSQL: one ``INSERT`` per row into the same keyed table, one commit at the
  end (the rows handed over as Python tuples, built before the clock starts);
- ceiling, PostgreSQL: binary COPY (ADBC) of the same Arrow table, in memory before the clock
  starts, into a keyless temporary table: what the server's ingest alone costs;
- information: the same binary COPY into the keyed target (a second write per row is what the
  merge adds), and the CSV way fitray used before -- text COPY of CSV rendered before the
  clock, into a keyless temporary table;
- fitray, DuckDB: the same ``load`` on a fresh DuckDB file;
- ceiling, DuckDB: ``CREATE TABLE AS SELECT`` straight from the Arrow table, fresh file.

Every side runs in full; the slow INSERT once, the others ``--rounds`` times, interleaved.

    python -m bench.bench_load --help
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from bench.data import merged_rows
from bench.harness import CEILING, FITRAY, INFO, ORIGINAL, Bench, interleave, parse_args
from fitray.batch.transform import to_warehouse_rows
from fitray.config import Settings, get_settings
from fitray.staging import open_staging
from fitray.warehouse import LoadRecord, open_warehouse
from fitray.warehouse.sql import create_target_sql, target_columns

__all__ = ["main"]

SMOKE = {"rows": 1_000, "rounds": 1}
NOW = datetime(2024, 5, 2, tzinfo=UTC)
RESET = "DROP TABLE IF EXISTS exercises_enriched, loads"


class Loads:
    """Staged rows and one scratch PostgreSQL database and directory for every side."""

    def __init__(self, settings: Settings, rows: int, scratch: Path) -> None:
        self.database = f"bench_load_{uuid.uuid4().hex[:8]}"
        self.settings = settings.model_copy(
            update={"postgres_database": self.database, "staging_url": str(scratch / "staging")}
        )
        self.base, self.scratch, self.round = settings, scratch, 0
        self.rows = to_warehouse_rows(merged_rows(rows), "bench-load", NOW)
        staging = open_staging(self.settings)
        files = (staging.write(self.rows, "bench-load", 0),)
        self.record = LoadRecord("bench-load", NOW, None, NOW, rows, files)
        assert self.rows.column_names == target_columns()
        self.tuples = [tuple(r.values()) for r in self.rows.to_pylist()]
        self.csv = _csv(self.rows)
        with _pg(settings, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def drop(self) -> None:
        with _pg(self.base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def fitray_postgres(self) -> None:
        with _pg(self.settings) as conn:
            conn.execute(RESET)
        self._fitray_load(self.settings, "postgres")

    def fitray_duckdb(self) -> None:
        self.round += 1
        self._fitray_load(self._duckdb_settings(), "duckdb")

    def _fitray_load(self, settings: Settings, backend: Any) -> None:
        result = open_warehouse(settings, backend).load(open_staging(settings), self.record)
        assert result.rows_inserted == self.rows.num_rows, result

    def _duckdb_settings(self) -> Settings:
        path = self.scratch / f"fitray-{self.round}.duckdb"
        return self.settings.model_copy(update={"duckdb_path": path})

    def row_insert(self, count: int | None = None) -> None:
        columns = target_columns()
        sql = f"INSERT INTO exercises_enriched ({', '.join(columns)}) VALUES "
        sql += f"({', '.join(['%s'] * len(columns))})"
        with _pg(self.settings) as conn:
            conn.execute(RESET)
            conn.execute(create_target_sql("postgres"))
            conn.commit()
            with conn.cursor() as cur:
                for row in self.tuples[:count]:
                    cur.execute(sql, row)
            conn.commit()

    def csv_copy(self) -> None:
        """COPY the pre-rendered CSV into a keyless temp table (fitray's way before ADBC)."""
        columns = ", ".join(target_columns())
        with _pg(self.settings) as conn:
            conn.execute(create_target_sql("postgres", "raw_rows", temp=True))
            with conn.cursor().copy(f"COPY raw_rows ({columns}) FROM STDIN (FORMAT CSV)") as copy:
                copy.write(self.csv)
            conn.commit()

    def binary_copy(self, keyed: bool = False) -> None:
        """Binary COPY of the Arrow table (ADBC) into a keyless temp table or the keyed target."""
        import adbc_driver_postgresql.dbapi as adbc

        with _pg(self.settings) as conn:  # fresh target, as every side gets
            conn.execute(RESET)
        with adbc.connect(self.settings.postgres_conninfo) as conn, conn.cursor() as cur:
            if keyed:
                cur.execute(create_target_sql("postgres"))
                cur.adbc_ingest("exercises_enriched", self.rows, mode="append")
            else:
                cur.execute(create_target_sql("postgres", "raw_rows", temp=True))
                cur.adbc_ingest("raw_rows", self.rows, mode="append", temporary=True)
            conn.commit()

    def duckdb_ceiling(self) -> None:
        import duckdb

        self.round += 1
        rows = self.rows
        with duckdb.connect(str(self.scratch / f"raw-{self.round}.duckdb")) as con:
            con.register("staged", rows)
            con.execute("CREATE TABLE raw_rows AS SELECT * FROM staged")


def _pg(settings: Settings, autocommit: bool = False) -> Any:
    import psycopg

    return psycopg.connect(settings.postgres_conninfo, autocommit=autocommit)


def _csv(rows: pa.Table) -> bytes:
    buffer = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    pacsv.write_csv(rows, buffer, write_options=options)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="Rows, every side, in full.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of the fast sides.")
    args = parse_args(parser, argv, SMOKE)
    with tempfile.TemporaryDirectory(prefix="fitray-bench-load-") as scratch:
        loads = Loads(get_settings(), args.rows, Path(scratch))
        try:
            run(loads, args)
        finally:
            loads.drop()
    return 0


def run(loads: Loads, args: argparse.Namespace) -> None:
    warm_up = [
        loads.fitray_postgres, loads.binary_copy, loads.csv_copy, loads.fitray_duckdb,
        loads.duckdb_ceiling,
    ]  # fmt: skip
    for fn in warm_up:  # imports, connections, the server's caches: every side alike
        fn()
    loads.row_insert(1_000)
    bench = Bench("load", vars(args), size=args.rows, unit="rows")
    pg = bench.side(
        "postgres_fitray_load",
        "fitray PostgreSQL load: Parquet, binary COPY (ADBC), merge, loads row, 1 txn",
        FITRAY,
    )
    insert = bench.side("postgres_row_insert", "original: row-by-row INSERT, PostgreSQL", ORIGINAL)
    copy = bench.side(
        "postgres_raw_binary_copy", "raw binary COPY (ADBC) of the Arrow table, keyless temp table",
        CEILING,
    )  # fmt: skip
    keyed = bench.side(
        "postgres_binary_copy_keyed", "info: the same binary COPY into the keyed target", INFO
    )
    csv = bench.side(
        "postgres_csv_copy", "info: COPY of pre-rendered CSV, keyless temp table (before)", INFO
    )
    duck = bench.side(
        "duckdb_fitray_load", "fitray DuckDB load: Parquet, merge, loads row, 1 txn", FITRAY
    )
    duck_raw = bench.side(
        "duckdb_raw_ctas", "raw DuckDB CREATE TABLE AS SELECT from Arrow", CEILING
    )
    insert.time(loads.row_insert)
    interleave(
        args.rounds,
        [
            (pg, loads.fitray_postgres),
            (copy, loads.binary_copy),
            (keyed, lambda: loads.binary_copy(keyed=True)),
            (csv, loads.csv_copy),
            (duck, loads.fitray_duckdb),
            (duck_raw, loads.duckdb_ceiling),
        ],
    )
    bench.ratio(pg, insert)
    bench.ratio(copy, insert)
    bench.ratio(pg, copy)
    bench.ratio(copy, csv)
    bench.ratio(duck, duck_raw)
    bench.note("PostgreSQL 127.0.0.1 on the same 2 cores; each side into fresh tables")
    bench.finish(args.out)


if __name__ == "__main__":
    sys.exit(main())
