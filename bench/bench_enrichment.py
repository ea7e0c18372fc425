"""Enrichment: fitray's calorie client vs a bare load generator vs the original's sequential calls.

Every side sends the same calls -- one per workout of the same seeded workouts, the activity
resolved by fitray's resolver -- to one private calorie service (``services.calorie_api``,
``--latency-ms``, no quota), all in full:

- fitray: ``CalorieClient.from_settings(...).enrich_batch(workouts)``, cache off (every workout
  is one call), rate limit lifted, ``--concurrency`` in flight;
- ceiling: a plain aiohttp load generator, ``--ceiling-concurrency`` in flight, and the same
  generator at the client's concurrency (what the client's own work costs);
- original: one call at a time, waiting for each answer (keep-alive, no sleep).

The fast sides run ``--rounds`` times, interleaved, each round with fresh connections; the
sequential side once. Service, load generator and client share this machine's cores.

    python -m bench.bench_enrichment --help
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from bench.harness import CEILING, FITRAY, ORIGINAL, Bench, interleave, parse_args
from bench.services import calorie_service
from fitray.calories.client import CalorieClient
from fitray.calories.resolve import ActivityResolver, UnresolvedActivity
from fitray.config import Settings, get_settings
from fitray.schema import RawWorkout
from fitray.stream.source import WorkoutGenerator

__all__ = ["main"]

SMOKE = {"requests": 60, "rounds": 1, "latency_ms": 1.0}
Query = dict[str, str]


def workload(
    settings: Settings, resolver: ActivityResolver, count: int, seed: int
) -> tuple[list[RawWorkout], list[Query]]:
    """``count`` generated workouts whose title resolves, and the call each one makes."""
    workouts: list[RawWorkout] = []
    queries: list[Query] = []
    for batch in WorkoutGenerator.from_settings(settings, seed=seed, count=count * 2).batches(500):
        for workout in batch.workouts:
            try:
                activity = resolver.resolve(workout.title).activity
            except UnresolvedActivity:
                continue
            workouts.append(workout)
            queries.append(
                {
                    "activity": activity,
                    "weight": format(workout.weight_lb, ".6g"),
                    "duration": format(workout.duration_min, ".6g"),
                }
            )
            if len(workouts) == count:
                return workouts, queries
    raise SystemExit(f"fewer than {count} resolvable workouts in {count * 2} generated")


async def load_generator(url: str, queries: list[Query], concurrency: int) -> None:
    """Bare GETs from ``concurrency`` workers; the answer is read, not parsed."""
    endpoint, pending = f"{url}/v1/caloriesburned", iter(queries)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for query in pending:
                async with session.get(endpoint, params=query) as response:
                    await response.read()
                    assert response.status == 200, response.status

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def fitray_client(
    settings: Settings, resolver: ActivityResolver, workouts: list[RawWorkout]
) -> None:
    async with CalorieClient.from_settings(settings, resolver) as client:
        result = await client.enrich_batch(workouts)
    assert not result.dead_letters, result.dead_letters[:3]
    assert client.stats.calls == len(workouts), client.stats


async def sequential(url: str, queries: list[Query]) -> None:
    endpoint = f"{url}/v1/caloriesburned"
    async with aiohttp.ClientSession() as session:
        for query in queries:
            async with session.get(endpoint, params=query) as response:
                await response.json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="Calls per side, in full.")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="Service latency per call.")
    parser.add_argument("--concurrency", type=int, default=64, help="Client's calls in flight.")
    parser.add_argument("--ceiling-concurrency", type=int, default=256, help="Ceiling in flight.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of the fast sides.")
    parser.add_argument("--seed", type=int, default=11, help="Seed of the workouts.")
    args = parse_args(parser, argv, SMOKE)
    with calorie_service(args.latency_ms) as url:
        run(args, url)
    return 0


def run(args: argparse.Namespace, url: str) -> None:
    settings = get_settings().model_copy(
        update={
            "calorie_api_url": url,
            "calorie_api_key": None,
            "calorie_cache_size": 0,
            "calorie_rate_limit_per_s": 1e9,
            "calorie_rate_burst": 1_000_000,
            "calorie_concurrency": args.concurrency,
        }
    )
    resolver = ActivityResolver.from_files(
        settings.mapping_path, settings.exercises_file, settings.activities_file
    )
    workouts, queries = workload(settings, resolver, args.requests, args.seed)
    n, c, top = len(queries), args.concurrency, args.ceiling_concurrency
    warm = slice(0, min(n, 200))
    asyncio.run(load_generator(url, queries[warm], top))  # every side once, on a few calls
    asyncio.run(fitray_client(settings, resolver, workouts[warm]))
    asyncio.run(sequential(url, queries[:20]))

    bench = Bench("enrichment", vars(args), size=n, unit="calls")
    ceiling = bench.side(
        "load_generator_ceiling", f"ceiling: aiohttp load generator, {top} in flight", CEILING
    )
    same = bench.side(
        "load_generator_same_concurrency",
        f"ceiling: the same load generator, {c} in flight",
        CEILING,
    )
    client = bench.side(
        "fitray_client", f"fitray: CalorieClient.enrich_batch, cache off, {c} in flight", FITRAY
    )
    seq = bench.side("sequential", "original: sequential, one call at a time", ORIGINAL)
    interleave(
        args.rounds,
        [
            (ceiling, lambda: asyncio.run(load_generator(url, queries, top))),
            (same, lambda: asyncio.run(load_generator(url, queries, c))),
            (client, lambda: asyncio.run(fitray_client(settings, resolver, workouts))),
        ],
    )
    seq.time(lambda: asyncio.run(sequential(url, queries)))
    bench.ratio(client, seq)
    bench.ratio(client, same)
    bench.ratio(client, ceiling)
    if args.latency_ms:
        bound = 1000 / args.latency_ms
        bench.note(
            f"{args.latency_ms:g} ms per answer bounds sequential calls at {bound:.0f}/s "
            f"and {c} in flight at {c * bound:.0f}/s"
        )
    bench.finish(args.out)


if __name__ == "__main__":
    sys.exit(main())
