"""Batch cost against collection size: one run, the same new documents, ever larger collections.

For each FerretDB backend -- PostgreSQL (the local stack's default) and SQLite -- a private
FerretDB is started with the stack's own code (``fitray.stack.ferretdb``: same binary, flags
and companion-index triggers) on a free port, and one database per collection size holds:

- base documents, stamped before the watermark less the overlap (100 a second, going back in
  time), seeded straight into FerretDB's backend table (COPY on PostgreSQL, executemany on
  SQLite) as the text FerretDB itself writes (``bench.data.ferretdb_sjson``); the first 1,000
  go through FerretDB and the rendering is checked against what it stored; the index the
  extract reads by is built through FerretDB (``store_reads_by``); PostgreSQL vacuums and
  analyses the table (the steady state of a collection grown over hours);
- then, for every size one after the other, the new documents (the same ``--new``, stamped
  over the last 10 minutes) written through FerretDB with ``insert_many`` of 1,000, as the
  consumer writes them (timed: the write figure).

Then ``run_batch_flow(settings, "duckdb")`` -- the Prefect flow, its tasks on the stack's
Ray -- runs on a fresh DuckDB whose last load's watermark precedes the new documents (it must
read and load exactly them: asserted), ``--rounds`` times per size, the sizes interleaved
within each round so that a busy machine's drift hits every size alike. At the largest
PostgreSQL size the read alone runs on 4 threads and on 1, then without the GIN companions.

The flow's time at the largest size over its time at the smallest is the figure (goal: at
least 0.67, i.e. flat within 1.5x); the SQLite runs show what the default was.

    python -m bench.bench_increment --help
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.data import ferretdb_sjson, stored_document
from bench.harness import FITRAY, INFO, Bench, Side, interleave, parse_args
from fitray.batch.extract import READ_THREADS, extract_new_documents, store_reads_by
from fitray.clients.mongo import mongo_client
from fitray.config import Settings, get_settings
from fitray.stack import Stack
from fitray.stack.process import port_in_use, wait_until
from fitray.warehouse.sql import create_loads_sql, create_target_sql, insert_load_sql
from flows.etl import run_batch_flow

__all__ = ["main"]

SUITE = False  # ~30 min: seeds millions of documents; run it by name
SMOKE = {"sizes": "3000,4000", "new": 1000, "sqlite_sizes": "3000", "rounds": 1}
CHECKED = 1_000  # documents written through FerretDB first, then compared with the rendering
WRITE_BATCH = 1_000  # the consumer's bulk write
SEED_CHUNK = 50_000
BASE_RATE_S = 0.01  # base documents 10 ms apart
NEW_SPAN = timedelta(minutes=10)


def drop_orphans(settings: Settings) -> list[str]:
    """Drop the databases of runs that were killed before their clean-up (several GB each at
    3M documents); benches never overlap, so any such database is an orphan."""
    with _pg(settings, "postgres") as conn:
        sql = "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_increment\\_%'"
        names = [row[0] for row in conn.execute(sql).fetchall()]
        for name in names:
            print(f"dropping {name}, left by a bench_increment run that did not finish")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return names


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


class Store:
    """A private FerretDB on one backend, reachable at ``url``; stopped and cleaned up after."""

    def __init__(self, base: Settings, backend: str, scratch: Path, port: int) -> None:
        self.backend, self.url = backend, f"mongodb://127.0.0.1:{port}/"
        self.settings = base.model_copy(update={
            "stack_dir": scratch / backend, "mongo_url": SecretStr(self.url),
            "ferretdb_debug_port": port + 1, "ferretdb_backend": backend,
            "ferretdb_postgres_database": f"bench_increment_{uuid.uuid4().hex[:8]}",
        })  # fmt: skip
        self.stack = Stack(self.settings, ["ferretdb"])

    def __enter__(self) -> Store:
        wait_until(lambda: not port_in_use(self.settings.mongo_port), 30)
        if self.backend == "postgresql":
            drop_orphans(self.settings)
        try:
            self.stack.up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.down()
        if self.backend == "postgresql":
            with _pg(self.settings, "postgres") as conn:
                name = self.settings.ferretdb_postgres_database
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def table(self, database: str, collection: str) -> str:
        """FerretDB's table of the collection, as the backend names it."""
        if self.backend == "postgresql":
            with _pg(self.settings) as conn:
                sql = f"SELECT _jsonb->>'table' FROM \"{database}\"._ferretdb_database_metadata "
                row = conn.execute(sql + "WHERE _jsonb->>'_id' = %s", (collection,)).fetchone()
            return f'"{database}"."{row[0]}"'
        with self._sqlite(database) as con:
            row = con.execute(
                "SELECT table_name FROM _ferretdb_collections WHERE name = ?", (collection,)
            ).fetchone()
        return f'"{row[0]}"'

    def write_direct(self, database: str, table: str, texts: list[str]) -> None:
        if self.backend == "postgresql":
            copy_sql = f"COPY {table} (_jsonb) FROM STDIN"
            with _pg(self.settings) as conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write("\n".join(texts) + "\n")  # sjson has no tab or backslash
            return
        with self._sqlite(database) as con:
            rows = [(text,) for text in texts]
            con.executemany(f"INSERT INTO {table} (_ferretdb_sjson) VALUES (?)", rows)

    def stored_as(self, database: str, table: str, texts: dict[str, str]) -> list[str]:
        """The _ids whose stored value differs from ``texts[_id]`` (FerretDB wrote them)."""
        if self.backend == "postgresql":
            query = f"SELECT _jsonb = %s::jsonb FROM {table} WHERE _jsonb->>'_id' = %s"
            with _pg(self.settings) as conn:
                same = {i: conn.execute(query, (t, i)).fetchone()[0] for i, t in texts.items()}
        else:
            query = f"SELECT _ferretdb_sjson FROM {table} WHERE _ferretdb_sjson->>'_id' = ?"
            with self._sqlite(database) as con:
                same = {i: con.execute(query, (i,)).fetchone()[0] == t for i, t in texts.items()}
        return [i for i, ok in same.items() if not ok]

    def disk_bytes(self, database: str, table: str) -> int:
        if self.backend == "postgresql":
            with _pg(self.settings) as conn:
                return int(conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0])
        folder = self.settings.stack_dir / "data" / "ferretdb" / "sqlite"
        return sum(p.stat().st_size for p in folder.glob(f"{database}.sqlite*"))

    def drop_gin_companions(self, table: str) -> None:
        """What FerretDB alone has: its btree indexes (none serves its ``@>`` pushdown)."""
        schema, name = (part.strip('"') for part in table.split("."))
        with _pg(self.settings) as conn:
            for (index,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
                "AND indexname LIKE '%%\\_gin'", (schema, name),
            ).fetchall():  # fmt: skip
                conn.execute(f'DROP INDEX "{schema}"."{index}"')

    def settle(self, table: str) -> None:
        """What autovacuum does to a collection that grew over hours, done now rather than
        during the measurements (a bulk seed sets off a long VACUUM, ANALYZE, GIN cleanup)."""
        if self.backend == "postgresql":
            with _pg(self.settings) as conn:
                conn.execute(f"VACUUM (ANALYZE) {table}")

    @contextmanager
    def _sqlite(self, database: str) -> Iterator[Any]:
        import sqlite3

        path = self.settings.stack_dir / "data" / "ferretdb" / "sqlite" / f"{database}.sqlite"
        con = sqlite3.connect(path, timeout=60)
        try:
            with con:  # one transaction
                yield con
        finally:
            con.close()


def _pg(settings: Settings, dbname: str | None = None) -> Any:
    import psycopg

    name = dbname or settings.ferretdb_postgres_database
    return psycopg.connect(settings.postgres_conninfo, dbname=name, autocommit=True)


class Increment:
    """One collection of ``size`` documents whose newest ``new`` are the increment."""

    def __init__(self, store: Store, client: Any, size: int, new: int, scratch: Path) -> None:
        self.store, self.size, self.new, self.scratch = store, size, new, scratch
        self.database = f"incr_{size}_{uuid.uuid4().hex[:6]}"
        self.collection = client[self.database][get_settings().stream_collection]
        self.overlap = timedelta(seconds=get_settings().batch_overlap_s)
        self.watermark: datetime | None = None
        self.table = ""  # FerretDB's table, known once seeded
        self.runs = 0

    def seed(self) -> None:
        """The base: stamped before the window a run reads, newest first, 10 ms apart."""
        end = datetime.now(UTC) - NEW_SPAN - self.overlap - timedelta(minutes=1)
        base = self.size - self.new

        def docs(start: int, stop: int) -> list[dict[str, Any]]:
            stamp = lambda i: end - timedelta(seconds=i * BASE_RATE_S)  # noqa: E731
            return [stored_document(i, stamp(i)) for i in range(start, min(stop, base))]

        checked = docs(0, CHECKED)
        self.collection.insert_many(checked)  # FerretDB creates the table and writes these
        self.table = self.store.table(self.database, self.collection.name)
        rendered = {d["_id"]: ferretdb_sjson(d) for d in checked}
        if wrong := self.store.stored_as(self.database, self.table, rendered):
            raise SystemExit(
                f"seeding would not be faithful: FerretDB stored {wrong[:3]} otherwise"
            )
        for start in range(CHECKED, base, SEED_CHUNK):
            texts = [ferretdb_sjson(d) for d in docs(start, start + SEED_CHUNK)]
            self.store.write_direct(self.database, self.table, texts)
        self.collection.create_index(store_reads_by(self.collection))  # as the extract does
        self.store.settle(self.table)

    def write_new(self) -> None:
        """The increment, through FerretDB as the consumer writes it, over the last 10 min."""
        self.watermark = datetime.now(UTC) - NEW_SPAN
        step = NEW_SPAN / self.new
        base = self.size - self.new
        docs = [stored_document(base + j, self.watermark + j * step) for j in range(self.new)]
        for start in range(0, self.new, WRITE_BATCH):
            self.collection.insert_many(docs[start : start + WRITE_BATCH], ordered=False)

    def flow(self, side: Side) -> None:
        """One batch run on a fresh warehouse whose last load ended at the watermark."""
        self.runs += 1
        run = self.scratch / f"{self.database}-{self.runs}"
        settings = get_settings().model_copy(update={
            "mongo_database": self.database, "duckdb_path": run / "warehouse.duckdb",
            "staging_url": str(run / "staging"), "report_dir": run / "report",
        })  # fmt: skip
        _previous_load(settings.duckdb_file, self.watermark)
        summary = run_batch_flow(settings, "duckdb")
        assert (summary.documents_read, summary.rows_inserted) == (self.new, self.new), summary
        side.extra.setdefault("rounds", []).append(
            {"flow_elapsed_s": summary.elapsed_s, "step_seconds": summary.step_seconds}
        )

    def extract(self, threads: int) -> None:
        """The flow's read alone, in this process (as its 'new documents' task runs it)."""
        since = (self.watermark or datetime.now(UTC)) - self.overlap
        until = datetime.now(UTC) + self.overlap
        table = extract_new_documents(self.collection, since, until=until, threads=threads)
        assert table.num_rows == self.new, table.num_rows

    def drop(self) -> None:
        self.collection.database.client.drop_database(self.database)


def _previous_load(path: Path, watermark: datetime | None) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(create_target_sql("duckdb"))
        con.execute(create_loads_sql("duckdb"))
        row = ("previous", watermark, watermark, None, watermark, 0, 0, 0, "[]")
        con.execute(insert_load_sql("?"), row)


def _free_port_pair() -> int:
    """A port whose next one is free too (FerretDB's debug port), outside the ephemeral range
    where client connections would take them."""
    import random
    import socket

    for port in random.sample(range(20_000, 30_000, 2), 200):
        try:
            with socket.socket() as one, socket.socket() as two:
                one.bind(("127.0.0.1", port))
                two.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise SystemExit("no two free ports next to each other in 20000-30000")


def _join_ray(url: str) -> None:
    """Ray workers read FITRAY_MONGO_URL (a secret: never a flow parameter) from their env."""
    import ray

    from fitray.clients.ray import prepare_driver_env, ray_init_kwargs

    os.environ["FITRAY_MONGO_URL"] = url  # the flow's driver side: this process
    get_settings.cache_clear()
    settings = get_settings()
    kwargs = ray_init_kwargs(settings)
    kwargs["runtime_env"]["env_vars"]["FITRAY_MONGO_URL"] = url
    prepare_driver_env(settings)
    ray.init(address=settings.ray_address, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="100000,1000000,3000000",
        help="Collection sizes, FerretDB on PostgreSQL.",
    )
    parser.add_argument(
        "--sqlite-sizes", default="100000,1000000", help="Collection sizes on SQLite ('' skips)."
    )
    parser.add_argument("--new", type=int, default=50_000, help="New documents, every size.")
    parser.add_argument("--rounds", type=int, default=3, help="Flow runs per size (SQLite: 1).")
    parser.add_argument(
        "--extract-sides", action=argparse.BooleanOptionalAction, default=True,
        help="At the largest PostgreSQL size: the read alone on 4 threads and 1, then without "
        "the GIN companions (~3 min more at 3M).",
    )  # fmt: skip
    args = parse_args(parser, argv, SMOKE)
    bench = Bench("increment", vars(args), size=args.new, unit="docs")
    port = _free_port_pair()
    _join_ray(f"mongodb://127.0.0.1:{port}/")
    plan = [
        ("pg", "postgresql", _sizes(args.sizes)),
        ("sqlite", "sqlite", _sizes(args.sqlite_sizes)),
    ]
    with tempfile.TemporaryDirectory(prefix="fitray-bench-increment-") as scratch:
        for tag, backend, sizes in plan:
            if sizes:
                with Store(get_settings(), backend, Path(scratch), port) as store:
                    measure(bench, store, tag, sizes, args, Path(scratch))
    add_ratios(bench, _sizes(args.sizes), _sizes(args.sqlite_sizes))
    bench.note("flow: the Prefect flow on the stack's Ray, fresh DuckDB; the store a private "
               "FerretDB 1.24.2 per backend, started by fitray.stack.ferretdb")  # fmt: skip
    bench.finish(args.out)
    return 0


def measure(
    bench: Bench, store: Store, tag: str, sizes: list[int], args: argparse.Namespace,
    scratch: Path,
) -> None:  # fmt: skip
    """Every size seeded, then every increment written, then the flow runs interleaved over
    the rounds (a busy machine's drift hits every size alike; the windows read are alike)."""
    client = mongo_client(store.settings, timeout_s=10, socket_timeout_s=3600)
    rounds = args.rounds if tag == "pg" else 1
    increments = [Increment(store, client, size, args.new, scratch) for size in sorted(sizes)]
    try:
        for inc in increments:
            bench.side(f"{tag}_seed_{inc.size}", f"info: seeding {_of(inc, tag)}", INFO,
                       size=inc.size - inc.new).time(inc.seed)  # fmt: skip
        for inc in increments:
            label = f"info: insert_many x1,000, {_of(inc, tag)}"
            bench.side(f"{tag}_write_{inc.size}", label, INFO).time(inc.write_new)
        if not any(s.key == "flow_first_run" for s in bench.sides):
            first = bench.side("flow_first_run", f"info: first flow run, {_of(increments[0], tag)}",
                               INFO)  # fmt: skip
            first.time(partial(increments[0].flow, first))
        flows = [(_flow_side(bench, inc, tag, largest=inc is increments[-1]), inc)
                 for inc in increments]  # fmt: skip
        interleave(rounds, [(side, partial(inc.flow, side)) for side, inc in flows])
        for side, inc in flows:
            read = bench.side(f"{tag}_read_{inc.size}", f"info: the flow's 'new documents', "
                              f"{_of(inc, tag)}", INFO)  # fmt: skip
            read.seconds = [
                r["step_seconds"].get("new documents", 0.0) for r in side.extra["rounds"]
            ]
            disk = store.disk_bytes(inc.database, inc.table)
            side.extra.update({"collection_docs": inc.size, "disk_bytes": disk,
                               "disk_bytes_per_doc": disk / inc.size})  # fmt: skip
        if tag == "pg" and args.extract_sides:
            _parallel_and_index(bench, increments[-1], _of(increments[-1], tag))
    finally:
        for inc in increments:
            inc.drop()
        client.close()


def _of(inc: Increment, tag: str) -> str:
    name = {"pg": "PostgreSQL", "sqlite": "SQLite"}[tag]
    return f"{inc.new:,} new of {inc.size:,} docs, FerretDB on {name}"


def _flow_side(bench: Bench, inc: Increment, tag: str, *, largest: bool) -> Side:
    role = FITRAY if largest and tag == "pg" else INFO
    label = f"{'fitray' if role == FITRAY else 'info'}: run_batch_flow, {_of(inc, tag)}"
    return bench.side(f"{tag}_flow_{inc.size}", label, role)


def _parallel_and_index(bench: Bench, inc: Increment, of: str) -> None:
    """The read alone: on 4 threads (the default) and on 1; then without the GIN companions."""
    sides = {
        threads: bench.side(f"pg_extract_{threads}_threads", f"info: extract, {threads} "
                            f"thread{'s' if threads > 1 else ''}, {of}", INFO)
        for threads in (READ_THREADS, 1)
    }  # fmt: skip
    for _ in range(2):
        for threads, side in sides.items():
            side.time(partial(inc.extract, threads))
    bench.ratio(sides[READ_THREADS], sides[1])
    inc.store.drop_gin_companions(inc.table)
    plain = bench.side("pg_extract_btree_only", f"info: extract, no GIN companion, {of}", INFO)
    plain.time(lambda: inc.extract(READ_THREADS))
    bench.ratio(sides[READ_THREADS], plain)


def add_ratios(bench: Bench, pg_sizes: list[int], sqlite_sizes: list[int]) -> None:
    sides = {s.key: s for s in bench.sides}
    for tag, sizes in (("pg", pg_sizes), ("sqlite", sqlite_sizes)):
        for kind in ("flow", "read", "write"):
            for size in sorted(sizes)[1:]:  # each size against the smallest: flat is 1.0
                bench.ratio(sides[f"{tag}_{kind}_{size}"], sides[f"{tag}_{kind}_{min(sizes)}"])
    for size in sorted(set(pg_sizes) & set(sqlite_sizes)):
        for kind in ("flow", "write"):
            bench.ratio(sides[f"pg_{kind}_{size}"], sides[f"sqlite_{kind}_{size}"])


if __name__ == "__main__":
    sys.exit(main())
