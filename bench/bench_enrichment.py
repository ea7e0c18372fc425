"""Enrichment: fitray's calorie client vs a bare load generator vs the original's sequential calls.

Every side sends the same calls -- one per workout of the same seeded workouts, the activity
resolved by fitray's resolver, the weight rounded as the client rounds it; workouts whose
request would repeat an earlier one are left out, so every workout is exactly one call for
the client too (its cache and single flight have nothing to save) -- to one private calorie
service (``services.calorie_api``, ``--latency-ms``, no quota), all in full:

- fitray: ``CalorieClient.from_settings(...).enrich_batch(workouts)``, cache off, rate limit
  lifted, at ``--concurrency`` and at ``--ceiling-concurrency`` in flight;
- ceiling: a plain aiohttp load generator at the same two concurrencies (what the client's
  own work costs at each);
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
from fitray.calories.cache import sent_weight
from fitray.calories.client import QUOTE_DURATION_MIN, CalorieClient
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
    """``count`` generated workouts whose title resolves and whose request (activity, weight
    as the client sends it) is new, and that request."""
    workouts: list[RawWorkout] = []
    queries: list[Query] = []
    seen: set[tuple[str, float]] = set()
    generator = WorkoutGenerator.from_settings(settings, seed=seed, count=count * 20)
    for batch in generator.batches(500):
        for workout in batch.workouts:
            try:
                activity = resolver.resolve(workout.title).activity
            except UnresolvedActivity:
                continue
            weight = sent_weight(workout.weight_lb, settings.calorie_weight_step_lb)
            if (activity, weight) in seen:
                continue
            seen.add((activity, weight))
            workouts.append(workout)
            queries.append(
                {
                    "activity": activity,
                    "weight": format(weight, ".6g"),
                    "duration": format(QUOTE_DURATION_MIN, ".6g"),
                }
            )
            if len(workouts) == count:
                return workouts, queries
    raise SystemExit(f"fewer than {count} distinct requests in {count * 20} workouts")


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
    settings: Settings, resolver: ActivityResolver, workouts: list[RawWorkout], concurrency: int
) -> None:
    settings = settings.model_copy(update={"calorie_concurrency": concurrency})
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
        }
    )
    resolver = ActivityResolver.from_files(
        settings.mapping_path, settings.exercises_file, settings.activities_file
    )
    workouts, queries = workload(settings, resolver, args.requests, args.seed)
    n, c, top = len(queries), args.concurrency, args.ceiling_concurrency
    warm = slice(0, min(n, 200))
    asyncio.run(load_generator(url, queries[warm], top))  # every side once, on a few calls
    asyncio.run(fitray_client(settings, resolver, workouts[warm], top))
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
    client_top = bench.side(
        "fitray_client_ceiling_concurrency",
        f"fitray: CalorieClient.enrich_batch, cache off, {top} in flight",
        FITRAY,
    )
    seq = bench.side("sequential", "original: sequential, one call at a time", ORIGINAL)
    interleave(
        args.rounds,
        [
            (ceiling, lambda: asyncio.run(load_generator(url, queries, top))),
            (client_top, lambda: asyncio.run(fitray_client(settings, resolver, workouts, top))),
            (same, lambda: asyncio.run(load_generator(url, queries, c))),
            (client, lambda: asyncio.run(fitray_client(settings, resolver, workouts, c))),
        ],
    )
    seq.time(lambda: asyncio.run(sequential(url, queries)))
    bench.ratio(client, seq)
    bench.ratio(client, same)
    bench.ratio(client_top, ceiling)
    if args.latency_ms:
        bound = 1000 / args.latency_ms
        bench.note(
            f"{args.latency_ms:g} ms per answer bounds sequential calls at {bound:.0f}/s, "
            f"{c} in flight at {c * bound:.0f}/s and {top} in flight at {top * bound:.0f}/s"
        )
    bench.finish(args.out)


if __name__ == "__main__":
    sys.exit(main())
