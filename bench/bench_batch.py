"""The batch flow vs the raw read of the same documents, interleaved over rounds.

The same seeded documents (the stream consumer's shape) sit in one FerretDB collection with
the ``stored_at`` index already built. Each round times, one after the other:

- ceiling: pymongoarrow's ``find_arrow_all`` of the collection with the filter and schema the
  extract uses (a fresh warehouse has no watermark, so every document), warm;
- fitray: the real batch flow, ``run_batch_flow(settings, "duckdb")`` -- a Prefect flow run
  on the stack's server, its tasks on the stack's Ray -- on a fresh DuckDB warehouse and
  staging directory, so it reads the same documents, and loads every one of them.

Both sides run once before the rounds (warm-up, not counted). This process joins Ray first,
so warm flow runs reuse its Ray workers as the warm read reuses its connection; the first
flow run, which starts them (what every ``fitray batch`` process pays), is recorded as
information. The ratio is of the medians; each side's spread is reported.

    python -m bench.bench_batch --help
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.data import stored_documents
from bench.harness import CEILING, FITRAY, INFO, Bench, Side, interleave, parse_args
from fitray.batch.extract import new_documents_filter
from fitray.clients.mongo import mongo_client
from fitray.clients.ray import connect_ray
from fitray.config import Settings, get_settings
from fitray.schema import STORED_WORKOUT_SCHEMA
from flows.etl import run_batch_flow

__all__ = ["main"]

SMOKE = {"docs": 300, "rounds": 1}
SEED_BATCH = 10_000


class Batch:
    """One scratch database of seeded documents; a fresh warehouse for every flow run."""

    def __init__(self, settings: Settings, scratch: Path) -> None:
        self.database = f"bench_batch_{uuid.uuid4().hex[:8]}"
        self.settings = settings.model_copy(update={"mongo_database": self.database})
        self.scratch, self.runs = scratch, 0
        self.client = mongo_client(self.settings, socket_timeout_s=1800)
        self.collection = self.client[self.database][self.settings.stream_collection]

    def seed(self, docs: int) -> None:
        for start in range(0, docs, SEED_BATCH):
            self.collection.insert_many(stored_documents(start, min(docs, start + SEED_BATCH)))
        self.collection.create_index("stored_at")  # as the extract does: there before timing

    def raw_read(self) -> pa.Table:
        from pymongoarrow.api import Schema, find_arrow_all

        schema = STORED_WORKOUT_SCHEMA.set(0, pa.field("_id", pa.string()))
        return find_arrow_all(
            self.collection, new_documents_filter(None), schema=Schema.from_arrow(schema)
        )

    def flow(self, docs: int, side: Side) -> None:
        self.runs += 1
        run = self.scratch / f"run-{self.runs}"
        settings = self.settings.model_copy(update={
            "duckdb_path": run / "warehouse.duckdb", "staging_url": str(run / "staging"),
            "report_dir": run / "report",
        })  # fmt: skip
        summary = run_batch_flow(settings, "duckdb")
        assert (summary.documents_read, summary.rows_inserted) == (docs, docs), summary
        rounds = side.extra.setdefault("rounds", [])
        rounds.append({"flow_elapsed_s": summary.elapsed_s, "step_seconds": summary.step_seconds})
        shutil.rmtree(run, ignore_errors=True)

    def drop(self) -> None:
        self.client.drop_database(self.database)
        self.client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=40_000, help="Documents, read in full.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds, each side once a round.")
    args = parse_args(parser, argv, SMOKE)
    with tempfile.TemporaryDirectory(prefix="fitray-bench-batch-") as scratch:
        batch = Batch(get_settings(), Path(scratch))
        try:
            run(batch, args)
        finally:
            batch.drop()
    return 0


def run(batch: Batch, args: argparse.Namespace) -> None:
    bench = Bench("batch", vars(args), size=args.docs, unit="docs")
    seed = bench.side("seed_insert_many", f"info: seeding, insert_many of {SEED_BATCH:,}", INFO)
    seed.time(lambda: batch.seed(args.docs))
    first = bench.side("flow_first_run", "info: first flow run (warm-up, not in the ratio)", INFO)
    raw = bench.side("raw_read", "ceiling: find_arrow_all, same filter, warm, indexed", CEILING)
    flow = bench.side("batch_flow", "fitray: run_batch_flow on Ray, fresh DuckDB", FITRAY)
    connect_ray(batch.settings)  # the flow's tasks then run on this driver's Ray workers
    table: Any = batch.raw_read()  # warm-up of the ceiling
    assert table.num_rows == args.docs
    if not args.smoke:  # a smoke run checks the bench works: one flow run is enough
        first.time(lambda: batch.flow(args.docs, first))
    interleave(args.rounds, [(raw, batch.raw_read), (flow, lambda: batch.flow(args.docs, flow))])
    bench.ratio(flow, raw)
    steps = [r["step_seconds"].get("new documents", 0.0) for r in flow.extra["rounds"]]
    read = bench.side("flow_new_documents", "info: the flow's 'new documents' step", INFO)
    read.seconds = steps  # measured inside the flow runs above
    bench.ratio(read, raw)
    bench.note(f"FerretDB 1.24 ({batch.settings.ferretdb_backend} backend) on the same 2 cores as "
               "Ray, Prefect and the bench")  # fmt: skip
    bench.finish(args.out)


if __name__ == "__main__":
    sys.exit(main())
