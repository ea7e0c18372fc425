"""API calls per event: fitray's enrichment now (key routing, a cache sized to the key space
and keyed on what is sent, single flight) vs the design before it, on one seeded workload.

The enrichment stage alone, on Ray: ``--actors`` ``EnrichmentWorker`` actors fed batches of
``--batch-size`` by the stream's own routing (:func:`fitray.stream.enrich.submit_enrichment`),
at most ``--max-in-flight`` batches at a time, calling a private calorie service
(``services.calorie_api``, ``--latency-ms`` per answer) through the HTTP provider. Kafka and
MongoDB are left out so that a 100k-event A/B stays affordable on two cores; what they add is
the stream bench's business. Both designs run in full on the same workouts:

- fitray: key routing, cache of the whole key space (activities x weights at 1 lb), weights
  rounded to whole pounds, single flight -- the defaults;
- before (issue 12's starting point): whole batches round robin, a 4,096-entry LRU per actor
  keyed on the exact weight, every miss its own call (``single_flight=False``).

Workloads (``--workloads``): the stream generator's ``--events`` workouts (seed ``--seed``), with
weights as measured to a tenth of a pound (``tenths``: the generator's whole pound plus a
seeded tenth, what a scale reports) or as the generator makes them (``whole``). Each design
runs each workload without a quota (the calorie service's speed); then, on the first
workload, at each ``--quotas`` entry ``CALLS_PER_S:EVENTS`` through the real cluster-wide
rate limiter (the named limiter actor), on the workload's first EVENTS workouts. Every run
starts with fresh actors (cold caches). Calls are counted by the service itself, lookups by
the actors; every run samples (seconds, events done, lookups, calls) four times a second: the
hit ratio and events/s over time, plotted to ``--plot``.

    python -m bench.bench_cache --help
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import FITRAY, INFO, ROOT, Bench, parse_args
from bench.services import calorie_service
from fitray.calories.client import CalorieClient
from fitray.calories.shared_limit import api_limit_name
from fitray.clients.ray import NAMESPACE, connect_ray
from fitray.config import Settings, get_settings
from fitray.schema import RawWorkout
from fitray.stream.enrich import EnrichmentWorker, KeyRouter, submit_enrichment
from fitray.stream.source import WorkoutGenerator

__all__ = ["BeforeEnrichmentWorker", "main"]

SUITE = False  # minutes at a 50 calls/s quota: run it by name (python -m bench cache)
SMOKE = {"events": 2000, "quotas": "500:1000", "latency_ms": 1.0, "plot": None}
SAMPLE_EVERY_S = 0.25
BEFORE = {"calorie_cache_size": 4096, "calorie_weight_step_lb": 0.0,
          "stream_enrich_routing": "round_robin"}  # fmt: skip


class BeforeEnrichmentWorker(EnrichmentWorker):
    """The enrichment actor as it was: its client calls once per missing workout."""

    def _calorie_client(self) -> CalorieClient:
        client = super()._calorie_client()
        client.single_flight = False
        return client


@dataclass
class Run:
    """One design over the whole workload: its clock and its samples."""

    seconds: float = 0.0
    # (seconds, events done, lookups, calls), from (0, 0, 0, 0)
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    actors: list[dict[str, Any]] = field(default_factory=list)  # each actor's client stats

    @property
    def events(self) -> int:
        return self.samples[-1][1]

    @property
    def calls(self) -> int:
        return self.samples[-1][3]

    def as_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "events": self.events, "calls": self.calls,
                "calls_per_event": self.calls / self.events, "actors": self.actors,
                "samples": self.samples}  # fmt: skip


class Stage:
    """The enrichment stage of one design on Ray, driven like the stream pipeline drives it."""

    def __init__(self, settings: Settings, design: str, args: argparse.Namespace, url: str):
        import ray

        self.settings, self.design, self.args, self.url = settings, design, args, url
        body = EnrichmentWorker if design == "fitray" else BeforeEnrichmentWorker
        remote: Any = ray.remote(num_cpus=0)(body)
        self.actors = [remote.remote(settings) for _ in range(args.actors)]
        ray.get([a.enrich.remote([]) for a in self.actors])  # processes up, clients built
        key = settings.stream_enrich_routing == "key"
        self.router = KeyRouter.from_settings(settings) if key else None

    def run(self, batches: list[list[RawWorkout]]) -> Run:
        import ray

        run, done, turn = Run(samples=[(0.0, 0, 0, 0)]), 0, 0
        in_flight: deque[tuple[list[Any], int]] = deque()  # a batch's part refs, its size
        calls_before, started = service_calls(self.url), time.perf_counter()
        next_sample = started
        while turn < len(batches) or in_flight:
            while turn < len(batches) and len(in_flight) < self.args.max_in_flight:
                refs = submit_enrichment(self.actors, batches[turn], self.router, turn)
                in_flight.append((refs, len(batches[turn])))
                turn += 1
            ray.wait(in_flight[0][0], num_returns=len(in_flight[0][0]), timeout=SAMPLE_EVERY_S)
            while in_flight and _all_ready(in_flight[0][0]):
                refs, size = in_flight.popleft()
                assert not any(p.dead_letters for p in ray.get(refs)), "a workout was dead-lettered"
                done += size
            if time.perf_counter() >= next_sample or not in_flight:
                run.samples.append(self._sample(started, done, calls_before))
                next_sample = time.perf_counter() + SAMPLE_EVERY_S
        run.seconds = time.perf_counter() - started
        run.actors = ray.get([a.stats.remote() for a in self.actors])
        return run

    def _sample(self, started: float, done: int, calls_before: int) -> tuple[float, int, int, int]:
        import ray

        stats = ray.get([a.stats.remote() for a in self.actors])
        looked = sum(s.get("cache_hits", 0) + s.get("cache_misses", 0) for s in stats)
        calls = service_calls(self.url) - calls_before
        return round(time.perf_counter() - started, 3), done, looked, calls

    def stop(self) -> None:
        import ray

        ray.get([a.close.remote() for a in self.actors])
        for actor in self.actors:
            ray.kill(actor)


def _all_ready(refs: list[Any]) -> bool:
    import ray

    return len(ray.wait(refs, num_returns=len(refs), timeout=0)[0]) == len(refs)


def service_calls(url: str) -> int:
    with urllib.request.urlopen(f"{url}/stats", timeout=10) as response:
        return int(json.loads(response.read())["requests"])


def design_settings(base: Settings, design: str, quota: float | None) -> Settings:
    """A design's settings; a quota's burst is a tenth of a second of it (at least 10: the
    default), so that leasing tokens from the limiter actor, a Ray call each, keeps up."""
    update: dict[str, Any] = dict(BEFORE) if design == "before" else {}
    if quota is None:
        update |= {"calorie_rate_limit_per_s": 1e6, "calorie_rate_burst": 100_000}
    else:
        update |= {
            "calorie_rate_limit_per_s": quota,
            "calorie_rate_burst": max(10, int(quota / 10)),
        }
    return base.model_copy(update=update)


def workload(settings: Settings, args: argparse.Namespace, weights: str) -> list[RawWorkout]:
    """The generator's workouts; ``tenths``: each weight plus a seeded tenth of a pound."""
    generator = WorkoutGenerator.from_settings(settings, seed=args.seed, count=args.events)
    workouts = [w for batch in generator.batches(args.batch_size) for w in batch.workouts]
    if weights == "whole":
        return workouts
    tenths = random.Random(args.seed)
    return [
        w.model_copy(update={"weight_lb": min(500.0, w.weight_lb + tenths.randrange(10) / 10)})
        for w in workouts
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="Workouts per workload.")
    parser.add_argument("--workloads", default="tenths,whole", help="Weights: tenths, whole.")
    parser.add_argument("--quotas", default="500:100000,50:20000",
                        help="CALLS_PER_S:EVENTS runs, on the first workload.")  # fmt: skip
    parser.add_argument("--actors", type=int, default=2, help="Enrichment actors.")
    parser.add_argument("--batch-size", type=int, default=500, help="Workouts per batch.")
    parser.add_argument("--max-in-flight", type=int, default=6, help="Batches in flight.")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="Service latency per call.")
    parser.add_argument("--seed", type=int, default=11, help="Seed of the workouts.")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "cache-hit-ratio.png",
                        help="Where to draw the hit ratio over time (PNG).")  # fmt: skip
    args = parse_args(parser, argv, SMOKE)
    base = get_settings().model_copy(update={"calorie_api_key": None})
    with calorie_service(args.latency_ms) as url:
        base = base.model_copy(update={"calorie_api_url": url})
        connect_ray(base)
        try:
            record = run(base, args, url)
        finally:
            kill_limiter(url)
    if args.plot is not None and record is not None:
        plot(json.loads(record.read_text()), args.plot)
    return 0


def plan(args: argparse.Namespace) -> list[tuple[str, float | None, int]]:
    """(workload, quota or None, events) of every A/B of the run, in order."""
    workloads = [w for w in str(args.workloads).split(",") if w]
    runs: list[tuple[str, float | None, int]] = [(w, None, args.events) for w in workloads]
    for entry in (q for q in str(args.quotas).split(",") if q):
        quota, _, events = entry.partition(":")
        runs.append((workloads[0], float(quota), min(int(events or args.events), args.events)))
    return runs


def run(base: Settings, args: argparse.Namespace, url: str) -> Path | None:
    bench = Bench("cache", vars(args), size=args.events, unit="events")
    runs: dict[str, dict[str, Any]] = {}
    workouts = {w: workload(base, args, w) for w in {w for w, _, _ in plan(args)}}
    for weights, quota, events in plan(args):
        chosen = workouts[weights][:events]
        batches = [chosen[i : i + args.batch_size] for i in range(0, events, args.batch_size)]
        at = "no quota" if quota is None else f"{quota:g} calls/s"
        sides = {}
        for design in ("fitray", "before"):
            stage = Stage(design_settings(base, design, quota), design, args, url)
            try:
                result = stage.run(batches)
            finally:
                stage.stop()
            key = f"{design}_{weights}_{'unlimited' if quota is None else f'quota_{quota:g}'}"
            role = FITRAY if design == "fitray" else INFO
            side = bench.side(key, f"{LABELS[design]}, {weights}, {at}", role, size=events)
            side.seconds.append(result.seconds)
            side.extra = result.as_json() | {"workload": weights, "quota_per_s": quota}
            runs[key] = side.extra
            sides[design] = side
            print(f"-- {key}: {result.events:,} events, {result.calls:,} calls "
                  f"({result.calls / result.events:.4f}/event) in {result.seconds:.1f} s",
                  flush=True)  # fmt: skip
        bench.ratio(sides["fitray"], sides["before"])
        bench.note(summary(runs, f"fitray_{key.removeprefix(design + '_')}", key))
    return bench.finish(args.out)


LABELS = {  # the module's docstring says what each design is
    "fitray": "fitray: key routing, key-space cache, single flight",
    "before": "before: round robin, 4,096 LRU, exact weights",
}


def summary(runs: dict[str, dict[str, Any]], fitray_key: str, before_key: str) -> str:
    """One line per A/B: calls per event (all of it; without a quota, its last fifth too),
    events/s (all of it, and its last fifth), each fitray actor's workouts."""
    f, b = runs[fitray_key], runs[before_key]
    line = (
        f"{fitray_key.removeprefix('fitray_')}: calls per event fitray {f['calls_per_event']:.4f}"
        f", before {b['calls_per_event']:.4f} ({b['calls'] / f['calls']:.2f}x fewer calls)"
    )
    if f["quota_per_s"] is None:
        tail_f, tail_b = tail(f["samples"], 3), tail(b["samples"], 3)
        line += f"; last fifth of the events: {tail_f:.4f} vs {tail_b:.4f} ({tail_b / tail_f:.2f}x)"
    rates = [f"{r['events'] / r['seconds']:,.0f} ({1 / tail(r['samples'], 0):,.0f} in the last "
             "fifth)" for r in (f, b)]  # fmt: skip
    shares = [a.get("enriched", 0) for a in f["actors"]]
    return f"{line}; events/s fitray {rates[0]}, before {rates[1]}; per fitray actor {shares}"


def tail(samples: list[list[float]], column: int) -> float:
    """Over the last fifth of the events done: ``column`` (0 seconds, 3 calls) per event."""
    last = samples[-1]
    start = [s for s in samples if s[1] <= 0.8 * last[1]][-1]
    return (last[column] - start[column]) / max(1, last[1] - start[1])


def windows(samples: list[list[float]], by: int, every: float) -> list[tuple[float, float, float]]:
    """(x, y-numerator delta, y-denominator delta) over windows of ``every`` in column ``by``."""
    out, last = [], samples[0]
    for sample in samples[1:]:
        if sample[by] - last[by] >= every:
            out.append((sample[by], sample, last))
            last = sample
    return out  # type: ignore[return-value]


def plot(record: dict[str, Any], path: Path) -> None:
    """Without a quota: calls per event so far, and the hit ratio per 5,000 events done;
    at each quota: events done over time (its slope, events/s, rises with the hit ratio)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {s["key"]: s["extra"] for s in record["sides"]}
    quotas = [k.removeprefix("fitray_") for k in runs if k.startswith("fitray") and "_quota_" in k]
    fig, axes = plt.subplots(1, 2 + len(quotas), figsize=(5.2 * (2 + len(quotas)), 4.4))
    colours = {"fitray": "tab:blue", "before": "tab:orange"}
    for key, run in runs.items():
        design, rest = key.split("_", 1)
        style = {"color": colours[design], "linestyle": "-" if run["workload"] == "tenths" else ":",
                 "label": f"{design}, weights in {run['workload']}"}  # fmt: skip
        samples = [s for s in run["samples"] if s[1]]
        if run["quota_per_s"] is None:
            axes[0].plot([s[1] for s in samples], [s[3] / s[1] for s in samples], **style)
            hits = [(s[1], 1 - (s[3] - p[3]) / (s[1] - p[1])) for _, s, p in
                    windows(run["samples"], 1, 5000)]  # fmt: skip
            axes[1].plot(*zip(*hits, strict=True), **style)
        else:
            ax = axes[2 + quotas.index(rest)]
            ax.plot([s[0] for s in samples], [s[1] for s in samples], **style)
            ax.set(title=f"events done at {run['quota_per_s']:g} calls/s", xlabel="seconds",
                   ylabel="events enriched")  # fmt: skip
            ax.legend(loc="lower right", fontsize=8)
    axes[0].set(title="calls per event, so far", xlabel="events enriched", ylim=(0, 1.05),
                ylabel="calls / events")  # fmt: skip
    axes[1].set(title="hit ratio: 1 - calls/events per 5,000 events", ylim=(0, 1.02),
                xlabel="events enriched", ylabel="hit ratio")  # fmt: skip
    axes[0].legend(loc="upper right", fontsize=8)
    params = record["params"]
    fig.suptitle(f"bench_cache: {params['actors']} enrichment actors, {params['latency_ms']:g} ms "
                 f"a call, {record['started_at'][:16]} UTC", fontsize=10)  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def kill_limiter(url: str) -> None:
    """The bench's API got a detached limiter actor of its own: remove it."""
    import ray

    with contextlib.suppress(ValueError):  # never created: no run with a quota
        ray.kill(ray.get_actor(f"fitray-rate-limit-{api_limit_name(url, None)}", NAMESPACE))


if __name__ == "__main__":
    sys.exit(main())
