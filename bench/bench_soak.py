"""Soak: a million events at a steady rate through the whole pipeline, a batch load every few
minutes, and the memory of every process, Kafka lag and throughput over time.

The stream is what a user runs, in a process of its own: ``fitray stream run --count N --rate
R --json`` (seeded generator, enrichment actors calling the stack's calorie service, producer
actor, Kafka, consumer actors, FerretDB); every ``--batch-every-s`` a ``fitray batch`` process
loads the new documents into a DuckDB file of the soak's own (Prefect flow, tasks on Ray).
Every ``--sample-every-s`` the soak records the RSS of the stream's driver, of each of its
actors (pids from Ray's state API), of a running batch process and of its Ray workers; the
PSS of each stack server's process tree (``.stack/pids``; Ray's own workers left out); the
group's lag; events produced and committed per second; the load average. At the end one last
batch loads the rest, then every generated event_id must be in MongoDB once and in the
warehouse once.

Verdicts, over the samples while events enter Kafka: memory flat after warm-up (each fitray
process: the median of the last tenth over the median of the tenth around the half-way mark,
under +10 %) and lag bounded (the most of the last half at most 10 s of input). Not in the
default suite (``SUITE``).

Isolation: own topics, group, database, DuckDB file, staging directory -- and API key: the
cluster-wide calorie limiter is per API URL and key, so nobody else's run sets the soak's
limit and the soak lifts nobody else's. Everything is removed at the end.

    python -m bench.bench_soak --help
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import CEILING, FITRAY, ROOT, Bench, parse_args
from bench.soak_probes import (
    KafkaProbe,
    ProcessMemory,
    RayPids,
    plot,
    remove_soak_state,
    stack_servers,
)
from fitray.clients.ray import connect_ray
from fitray.config import Settings, get_settings

__all__ = ["SUITE", "main"]

SUITE = False  # a soak takes a quarter of an hour or more: run it by name
SMOKE = {"events": 3000, "rate": 500.0, "batch_every_s": 4.0, "sample_every_s": 1.0, "plot": ""}
FITRAY_BIN = Path(sys.executable).with_name("fitray")
GROWTH_LIMIT, LAG_SECONDS = 0.10, 10.0


@dataclass
class Soak:
    """One soak's names, processes and samples."""

    settings: Settings
    args: argparse.Namespace
    workdir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    samples: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        names = {
            "KAFKA_ENRICHED_TOPIC": f"soak.enriched.{self.tag}",
            "KAFKA_DEAD_LETTER_TOPIC": f"soak.dead-letter.{self.tag}",
            "STREAM_CONSUMER_GROUP": f"soak-{self.tag}", "MONGO_DATABASE": f"soak_{self.tag}",
            "DUCKDB_PATH": str(self.workdir / "warehouse.duckdb"),
            "STAGING_URL": str(self.workdir / "staging"), "CALORIE_API_KEY": f"soak-{self.tag}",
            "CALORIE_RATE_LIMIT_PER_S": "100000", "CALORIE_RATE_BURST": "2000",
        }  # fmt: skip
        return {**os.environ, **{f"FITRAY_{k}": v for k, v in names.items()}}

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        out = (self.workdir / f"{name}.out").open("wb")
        err = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen([str(FITRAY_BIN), *argv], cwd=ROOT, env=self.env,
                                   stdout=out, stderr=err, stdin=subprocess.DEVNULL)  # fmt: skip
        self.processes.append(process)
        return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Events, in full.")
    parser.add_argument("--rate", type=float, default=1000.0, help="Events per second offered.")
    parser.add_argument("--batch-every-s", type=float, default=240.0, help="Batch load period.")
    parser.add_argument("--sample-every-s", type=float, default=5.0, help="Sampling period.")
    parser.add_argument("--enrich-actors", type=int, default=2, help="Enrichment actors.")
    parser.add_argument("--consumers", type=int, default=2, help="Consumer actors.")
    parser.add_argument("--seed", type=int, default=11, help="Seed of the workouts.")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "soak.png"), help="PNG ('': none).")
    args = parse_args(parser, argv, SMOKE)
    settings = get_settings()
    connect_ray(settings)
    bench = Bench("soak", vars(args), size=args.events, unit="events")
    with tempfile.TemporaryDirectory(prefix="fitray-soak-") as workdir:
        soak = Soak(settings, args, Path(workdir))
        with cleaned_up(soak):
            summary, elapsed_s = run(soak)
            checks = verify(soak, summary)
    record_into(bench, soak, summary, elapsed_s, checks)
    path = bench.finish(args.out)
    if args.plot and path is not None:
        plot(json.loads(path.read_text()), Path(args.plot))
        print(f"plot: {args.plot}")
    return 0 if all(checks.values()) else 1


def run(soak: Soak) -> tuple[dict[str, Any], float]:
    """The stream, batches on schedule, a sample every period; then the last batch."""
    a = soak.args
    stream = soak.spawn("stream", "stream", "run", "--count", str(a.events), "--rate",
                        f"{a.rate:g}", "--seed", str(a.seed), "--json", "--enrich-actors",
                        str(a.enrich_actors), "--consumers", str(a.consumers))  # fmt: skip
    watch, loads = Watch(soak), Batches(soak)
    while True:
        running = stream.poll() is None
        batch = loads.tick(running, watch.elapsed_s)
        watch.sample(stream.pid, batch, running)
        if not running and batch is None:
            break
        watch.wait()
    elapsed_s = watch.elapsed_s
    loads.last(watch)
    watch.kafka.close()
    out = (soak.workdir / "stream.out").read_text().strip()
    if stream.returncode != 0 or not out:
        raise SystemExit(f"the stream failed ({stream.returncode}): {_tail(soak, 'stream.log')}")
    return json.loads(out.splitlines()[-1]), elapsed_s


class Watch:
    """One sample per period: memory of every process, Kafka's counts, the load average."""

    def __init__(self, soak: Soak) -> None:
        env, self.soak = soak.env, soak
        group, topic = env["FITRAY_STREAM_CONSUMER_GROUP"], env["FITRAY_KAFKA_ENRICHED_TOPIC"]
        self.kafka = KafkaProbe(soak.settings, group, topic)
        self.pids, self.memory = RayPids(), ProcessMemory()
        self.servers = stack_servers(soak.settings)
        self.started = self._last = time.monotonic()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def sample(
        self, stream_pid: int | None, batch: subprocess.Popen[bytes] | None, live: bool
    ) -> None:
        self._last = time.monotonic()
        pids = self.pids.fitray(stream_pid, batch.pid if batch else None)
        self.soak.samples.append({
            "t_s": self.elapsed_s, "streaming": live, "load_1m": os.getloadavg()[0],
            **self.kafka.sample(), "fitray_mb": self.memory.rss(pids),
            "servers_mb": self.memory.pss_trees(self.servers),
        })  # fmt: skip

    def wait(self) -> None:
        """Until the next sample is due (a sampling period, not a wait for an outcome)."""
        time.sleep(max(0.0, self.soak.args.sample_every_s - (time.monotonic() - self._last)))


class Batches:
    """``fitray batch`` every period while the stream runs, one at a time; then the last."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.running: subprocess.Popen[bytes] | None = None
        self.due_s = soak.args.batch_every_s

    def tick(self, streaming: bool, now_s: float) -> subprocess.Popen[bytes] | None:
        if self.running is not None and self.running.poll() is not None:
            self.soak.batches[-1].update(end_s=now_s, exit=self.running.returncode)
            self.running = None
        if self.running is None and streaming and now_s >= self.due_s:
            self.running = process = self.soak.spawn(f"batch-{len(self.soak.batches)}", "batch")
            self.soak.batches.append({"start_s": now_s, "pid": process.pid})
            self.due_s = now_s + self.soak.args.batch_every_s
        return self.running

    def last(self, watch: Watch) -> None:
        """The load after the stream ended: everything not loaded yet."""
        started = watch.elapsed_s
        process = self.soak.spawn("batch-last", "batch")
        self.soak.batches.append({"start_s": started, "pid": process.pid, "last": True})
        while process.poll() is None:
            watch.sample(None, process, False)
            watch.wait()
        self.soak.batches[-1].update(end_s=watch.elapsed_s, exit=process.returncode)


def verify(soak: Soak, summary: dict[str, Any]) -> dict[str, bool]:
    """Every generated event_id once in MongoDB and once in the warehouse."""
    import duckdb

    from fitray.clients.mongo import mongo_client
    from fitray.stream.source import event_id

    expected = {event_id(soak.args.seed, i) for i in range(soak.args.events)}
    client = mongo_client(soak.settings, socket_timeout_s=600)
    collection = client[soak.env["FITRAY_MONGO_DATABASE"]][soak.settings.stream_collection]
    stored = [d["_id"] for d in collection.find({}, {"_id": 1}, batch_size=10_000)]
    client.close()
    with duckdb.connect(soak.env["FITRAY_DUCKDB_PATH"], read_only=True) as warehouse:
        loaded = [r[0] for r in warehouse.sql("SELECT event_id FROM exercises_enriched").fetchall()]
    return {
        "stream summary: every event stored, none dead-lettered":
            summary["stored"] == soak.args.events and summary["dead_lettered"] == 0,
        "MongoDB: every event once": len(stored) == len(expected) and set(stored) == expected,
        "warehouse: every event once": len(loaded) == len(expected) and set(loaded) == expected,
        "every batch load exited 0": all(b.get("exit") == 0 for b in soak.batches),
    }  # fmt: skip


def record_into(
    bench: Bench, soak: Soak, summary: dict[str, Any], elapsed_s: float, checks: dict[str, bool]
) -> None:
    a, steady = soak.args, _steady(soak.samples, soak.args.events)
    growth = {
        kind: {n: _growth(steady, kind, n) for n in sorted({n for s in steady for n in s[kind]})
               if not n.startswith("batch")}  # batch processes come and go
        for kind in ("fitray_mb", "servers_mb")
    }  # fmt: skip
    flat = all(g is not None and g < GROWTH_LIMIT for g in growth["fitray_mb"].values())
    lag_last_half = max(s["lag"] for s in steady[len(steady) // 2 :])
    lag_bound = int(LAG_SECONDS * a.rate)
    side = bench.side("soak", f"fitray soak: stream at {a.rate:g}/s, batch every "
                      f"{a.batch_every_s:g} s", FITRAY, size=summary["stored"])  # fmt: skip
    side.seconds.append(summary["elapsed_s"])
    offered = bench.side("offered", "the offered rate (--rate)", CEILING)
    offered.seconds.append(a.events / a.rate)
    bench.ratio(side, offered)
    side.extra = {"samples": soak.samples, "batches": soak.batches, "summary": summary,
                  "growth_last_half": growth, "memory_flat": flat, "checks": checks,
                  "wall_s": elapsed_s, "lag_max_last_half": lag_last_half,
                  "lag_bound": lag_bound}  # fmt: skip
    loads = [s["load_1m"] for s in soak.samples]
    for kind, what in (("fitray_mb", "fitray processes (RSS)"), ("servers_mb", "servers (PSS)")):
        shown = ", ".join(f"{n} {g:+.1%}" for n, g in growth[kind].items() if g is not None)
        bench.note(f"memory growth over the last half, {what}: {shown}")
    bench.note(
        f"memory flat after warm-up (every fitray process under +{GROWTH_LIMIT:.0%}): "
        f"{'yes' if flat else 'NO'}; lag bounded (most of the last half <= {lag_bound:,}"
        f"): {'yes' if lag_last_half <= lag_bound else 'NO'} ({lag_last_half:,})"
    )
    bench.note(
        f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}, "
        f"median {median(loads):.1f}"
    )
    bench.note("; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))


def _steady(samples: list[dict[str, Any]], events: int) -> list[dict[str, Any]]:
    """The samples while events enter Kafka: start-up and the final drain left out."""
    return [s for s in samples if s["streaming"] and 0 < s.get("produced", 0) < events]


def _growth(samples: list[dict[str, Any]], kind: str, name: str) -> float | None:
    """Median of the last tenth over the median of the tenth around the half-way mark - 1."""
    tenth = max(1, len(samples) // 10)
    mid, end = len(samples) // 2, len(samples)
    around = [s[kind].get(name) for s in samples[mid - tenth // 2 : mid + tenth // 2 + 1]]
    last = [s[kind].get(name) for s in samples[end - tenth :]]
    around, last = [v for v in around if v], [v for v in last if v]
    return median(last) / median(around) - 1 if around and last else None


@contextmanager
def cleaned_up(soak: Soak) -> Iterator[None]:
    """Whatever happens: the soak's processes stopped, its topics and database removed."""
    try:
        yield
    finally:
        for process in soak.processes:
            if process.poll() is None:
                process.terminate()  # the stream drains and leaves; a batch finishes its load
                with suppress(subprocess.TimeoutExpired):
                    process.wait(150)
        remove_soak_state(soak.settings, soak.env)


def _tail(soak: Soak, name: str) -> str:
    with suppress(OSError):
        return (soak.workdir / name).read_text(errors="replace")[-1500:]
    return ""


if __name__ == "__main__":
    sys.exit(main())
