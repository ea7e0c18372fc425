"""Scaling: events/s of the whole stream for 1, 2, 4 enrichment actors and 1, 2, 4 consumer
actors, on one Ray node and on two; and the batch flow with 1 to 4 parallel slices.

Stream: ``StreamPipeline`` end to end (generator, enrichment actors calling a private calorie
service with ``--latency-ms`` per request and no rate limit, producer actor, Kafka, consumer
actors, FerretDB), each configuration on its own topic, group and database, timed by the run's
own clock (first batch to last commit; actor start-up is not counted). One axis moves while
the other stays at 2. "Two nodes" adds the stack's opt-in second Ray node (``ray-worker``,
started and stopped here) on the *same two cores*: actors then spread over two raylets, which
shows the cost or benefit of placement across nodes, never more compute.

Batch: ``run_batch_flow`` on Ray over ``--docs`` seeded documents with ``batch_max_tasks`` 1..4
(slices of docs/slices rows each), a fresh DuckDB file each run; the flow's own elapsed time.

    python -m bench.bench_scaling --help      # not in `python -m bench`'s default suite (long)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.data import stored_documents
from bench.harness import FITRAY, Bench, Side, parse_args
from bench.services import calorie_service
from fitray.clients.kafka import admin_client
from fitray.clients.mongo import mongo_client
from fitray.clients.ray import connect_ray
from fitray.config import Settings, get_settings
from fitray.stack import Stack
from fitray.stream.pipeline import StreamOptions, StreamPipeline
from flows.etl import run_batch_flow

__all__ = ["main"]

SUITE = False  # ~4 minutes here: run it by name
SMOKE = {"events": 300, "docs": 400, "counts": "1", "slices": "1,2", "nodes": "1"}


def stream_side(bench: Bench, settings: Settings, nodes: int, enrich: int, consumers: int) -> Side:
    """One end-to-end run of the stream, fresh topic/group/database, removed after."""
    tag = f"scaling_{uuid.uuid4().hex[:8]}"
    side = bench.side(
        f"stream_n{nodes}_e{enrich}_c{consumers}",
        f"stream, {nodes} node(s), {enrich} enrich / {consumers} consumer actors",
        FITRAY,
    )
    options = StreamOptions(
        count=bench.size, seed=3, topic=tag, dead_letter_topic=f"{tag}.dlq", group_id=tag,
        database=tag, enrich_actors=enrich, consumer_actors=consumers,
    )  # fmt: skip
    try:
        summary = StreamPipeline(settings, options).run()
    finally:
        admin_client(settings.kafka_bootstrap_servers).delete_topics([tag, f"{tag}.dlq"])
        with mongo_client(settings) as client:
            client.drop_database(tag)
    assert summary.stored + summary.dead_lettered == bench.size, summary
    side.seconds.append(summary.elapsed_s)
    side.extra = {"nodes": nodes, "enrich": enrich, "consumers": consumers}
    return side


def stream_configs(counts: list[int]) -> list[tuple[int, int]]:
    """(enrich, consumers): each axis over ``counts`` with the other at 2, without repeats."""
    configs = [(n, 2) for n in counts] + [(2, n) for n in counts]
    return list(dict.fromkeys(configs))


@contextmanager
def second_node(settings: Settings) -> Iterator[None]:
    worker = Stack(settings.model_copy(update={"ray_worker_num_cpus": 1}), ["ray-worker"])
    worker.up()
    try:
        yield
    finally:
        worker.down()


def batch_sides(bench: Bench, settings: Settings, docs: int, slices: list[int]) -> None:
    database = f"bench_scaling_{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"mongo_database": database})
    client = mongo_client(settings, socket_timeout_s=1800)
    collection = client[database][settings.stream_collection]
    for start in range(0, docs, 10_000):
        collection.insert_many(stored_documents(start, min(docs, start + 10_000)))
    collection.create_index("stored_at")
    scratch = Path(tempfile.mkdtemp(prefix="fitray-bench-scaling-"))
    try:
        for n in [0, *slices]:  # 0: a warm-up run with the largest slicing, not reported
            run, tasks = scratch / f"slices-{n}", n or max(slices)
            chosen = settings.model_copy(update={
                "duckdb_path": run / "warehouse.duckdb", "staging_url": str(run / "staging"),
                "report_dir": run / "report", "batch_max_tasks": tasks,
                "batch_rows": -(-docs // tasks),
            })  # fmt: skip
            summary = run_batch_flow(chosen, "duckdb")
            assert summary.rows_inserted == docs and len(summary.staging_files) == tasks, summary
            if not n:
                continue
            side = bench.side(f"batch_slices_{n}", f"batch flow, {n} slice(s)", FITRAY, size=docs,
                              unit="docs")  # fmt: skip
            side.seconds.append(summary.elapsed_s)
            side.extra = {"slices": n, "nodes": list(summary.nodes),
                          "step_seconds": summary.step_seconds}  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        client.drop_database(database)
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=6000, help="Workouts per stream run.")
    parser.add_argument("--counts", default="1,2,4", help="Actor counts on each axis.")
    parser.add_argument("--nodes", default="1,2", help="Ray nodes: 1, 2 or both.")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="Calorie API latency.")
    parser.add_argument("--docs", type=int, default=40_000, help="Documents per batch run.")
    parser.add_argument("--slices", default="1,2,3,4", help="Parallel slices of the batch.")
    args = parse_args(parser, argv, SMOKE)
    counts, slices = (
        [int(c) for c in args.counts.split(",")],
        [int(s) for s in args.slices.split(",")],
    )
    bench = Bench("scaling", vars(args), size=args.events, unit="events")
    with calorie_service(args.latency_ms) as url:
        settings = get_settings().model_copy(update={
            "calorie_api_url": url, "calorie_rate_limit_per_s": 100_000.0,
            "calorie_rate_burst": 10_000,
        })  # fmt: skip
        connect_ray(settings)
        sides: list[Side] = []
        for nodes in [int(n) for n in args.nodes.split(",")]:
            with second_node(settings) if nodes == 2 else _nothing():
                sides += [
                    stream_side(bench, settings, nodes, e, c) for e, c in stream_configs(counts)
                ]
        batch_sides(bench, settings, args.docs, slices)
    ratios(bench, sides)
    bench.note(
        "Kafka, FerretDB, the calorie service, Ray (1 or 2 raylets), Prefect and the bench "
        "share the same 2 cores: 'two nodes' shows placement across raylets, not capacity"
    )
    bench.finish(args.out)
    return 0


def ratios(bench: Bench, sides: list[Side]) -> None:
    """Each configuration against the 1-actor one of its axis; two nodes against one."""
    by = {(s.extra["nodes"], s.extra["enrich"], s.extra["consumers"]): s for s in sides}
    for (nodes, e, c), side in by.items():
        if e > 1 and c == 2 and (base := by.get((nodes, 1, 2))):
            bench.ratio(side, base)
        if c > 1 and e == 2 and (base := by.get((nodes, 2, 1))):
            bench.ratio(side, base)
        if nodes == 2 and (one := by.get((1, e, c))):
            bench.ratio(side, one)
    batch = {s.extra["slices"]: s for s in bench.sides if "slices" in s.extra}
    for n, side in batch.items():
        if n > 1 and 1 in batch:
            bench.ratio(side, batch[1])


@contextmanager
def _nothing() -> Iterator[Any]:
    yield


if __name__ == "__main__":
    sys.exit(main())
