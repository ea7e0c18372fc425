"""Enrichment throughput, side by side in one run against one local calorie service.

Measures calls/s of (1) the service's ceiling: a plain aiohttp load generator at high
concurrency, and (1b) the same generator at the client's concurrency; (2) fitray's
``CalorieClient.enrich_batch`` with the cache off (every workout is one HTTP call) and no
effective rate limit; (3) the original approach: one request at a time,
sequential, no sleep. Prints a table with ratios and writes JSON to ``bench/results/``.

    python bench/bench_enrichment.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from fitray.calories.cache import QuoteCache
from fitray.calories.client import CalorieClient
from fitray.calories.provider import HttpCalorieProvider
from fitray.calories.ratelimit import TokenBucket
from fitray.schema import RawWorkout

ROOT = Path(__file__).resolve().parents[1]
ACTIVITY = "Running, 6 mph (10 min mile)"


@dataclass(frozen=True)
class _Resolution:
    title: str
    activity: str
    method: str = "exact"
    detail: str = "bench"


class _SameTitle:
    def resolve(self, title: str) -> _Resolution:
        return _Resolution(title, title)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=20.0, help="Service latency per call.")
    parser.add_argument("--requests", type=int, default=3000, help="Calls for (1) and (2).")
    parser.add_argument("--sequential", type=int, default=100, help="Calls for (3).")
    parser.add_argument("--concurrency", type=int, default=64, help="In flight for (1b) and (2).")
    parser.add_argument(
        "--ceiling-concurrency", type=int, default=256, help="In flight for (1), the ceiling."
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="JSON dir.")
    return parser.parse_args(argv)


def start_service(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:  # a free port; the service binds it right after
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "services.calorie_api", "--port", str(port), "--api-key", ""]
    argv += ["--latency-ms", str(latency_ms)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITRAY_CALORIE_")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"calorie service exited: {process.stderr.read().decode()[-500:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("calorie service not healthy after 30 s")


def query(index: int) -> dict[str, str]:
    return {"activity": ACTIVITY, "weight": str(100 + index % 400), "duration": "30"}


async def load_generator(url: str, count: int, concurrency: int) -> float:
    """(1) The ceiling: bare GETs, ``concurrency`` workers, no parsing beyond reading."""
    endpoint, pending = f"{url}/v1/caloriesburned", iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for index in pending:
                async with session.get(endpoint, params=query(index)) as response:
                    await response.read()
                    assert response.status == 200, response.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def fitray_client(url: str, count: int, concurrency: int) -> float:
    """(2) enrich_batch, cache off, a limiter that never binds (its cost is still paid)."""
    provider = HttpCalorieProvider(url, max_connections=concurrency)
    limiter = TokenBucket(1e9, 1_000_000)
    workouts = [
        RawWorkout(
            event_id=uuid.uuid4().hex,
            title=ACTIVITY,
            weight_lb=100.0 + i % 400,
            duration_min=30.0,
            event_time=datetime.now(UTC),
        )
        for i in range(count)
    ]
    client = CalorieClient(
        provider, _SameTitle(), limiter, concurrency=concurrency, cache=QuoteCache(0)
    )
    async with client:
        started = time.perf_counter()
        result = await client.enrich_batch(workouts)
        elapsed = time.perf_counter() - started
    assert not result.dead_letters, result.dead_letters[:3]
    return client.stats.calls / elapsed


async def one_at_a_time(url: str, count: int) -> float:
    """(3) The original: one request, wait for it, the next one (keep-alive, no sleep)."""
    endpoint = f"{url}/v1/caloriesburned"
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for index in range(count):
            async with session.get(endpoint, params=query(index)) as response:
                await response.json()
        return count / (time.perf_counter() - started)


async def measure(args: argparse.Namespace, url: str) -> dict[str, float]:
    await load_generator(url, min(500, args.requests), args.ceiling_concurrency)  # warm-up
    return {
        "service_ceiling": await load_generator(url, args.requests, args.ceiling_concurrency),
        "load_generator_same_concurrency": await load_generator(
            url, args.requests, args.concurrency
        ),
        "fitray_client": await fitray_client(url, args.requests, args.concurrency),
        "sequential": await one_at_a_time(url, args.sequential),
    }


def report(args: argparse.Namespace, rates: dict[str, float]) -> dict[str, object]:
    rows = [
        ("(1) service ceiling: aiohttp load generator", rates["service_ceiling"]),
        (
            "(1b) load generator at the client's concurrency",
            rates["load_generator_same_concurrency"],
        ),
        ("(2) fitray CalorieClient.enrich_batch, cache off", rates["fitray_client"]),
        ("(3) original: sequential, one call at a time", rates["sequential"]),
    ]
    print(
        f"\nlatency {args.latency_ms:g} ms, client concurrency {args.concurrency}, "
        f"ceiling concurrency {args.ceiling_concurrency}, {os.cpu_count()} CPUs"
    )
    print(f"{'measurement':<52}{'calls/s':>10}")
    for name, rate in rows:
        print(f"{name:<52}{rate:>10.1f}")
    ratios = {
        "client_vs_sequential": rates["fitray_client"] / rates["sequential"],
        "client_vs_ceiling": rates["fitray_client"] / rates["service_ceiling"],
        "client_vs_same_concurrency": rates["fitray_client"]
        / rates["load_generator_same_concurrency"],
    }
    print(f"client / sequential: {ratios['client_vs_sequential']:.1f}x")
    print(f"client / ceiling:    {ratios['client_vs_ceiling']:.2f}")
    print(
        "client / load generator at the same concurrency: "
        f"{ratios['client_vs_same_concurrency']:.2f}"
    )
    return {"calls_per_s": rates, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    process, url = start_service(args.latency_ms)
    try:
        rates = asyncio.run(measure(args, url))
    finally:
        process.terminate()
        process.wait(10)
    summary = report(args, rates)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"enrichment-{stamp}.json"
    meta = {"argv": sys.argv, "cpus": os.cpu_count(), "python": platform.python_version()}
    path.write_text(json.dumps({**meta, **vars(args), "out": str(args.out), **summary}, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
