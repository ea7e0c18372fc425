"""One calorie-API limit for the whole cluster: two stream runs started together (two driver
processes) against the real calorie service share it, even across a restart of the limiter."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fitray.calories.resolve import ActivityResolver
from fitray.calories.shared_limit import api_limit_name
from fitray.clients.mongo import mongo_client
from fitray.clients.ray import NAMESPACE, connect_ray
from fitray.config import Settings
from fitray.stream.enrich import KeyRouter
from fitray.stream.source import WorkoutGenerator
from tests.stream.conftest import wait_for

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
RATE, BURST, EVENTS = 30.0, 4, 250  # per run: 250 events, one call per distinct key
# The service stamps a request when it handles it, not when the limiter let it go: on two busy
# cores event-loop delays can bunch requests by a couple of hundred milliseconds at either end.
SEND_JITTER_S = 0.2


def spawn_run(env: dict[str, str], seed: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "fitray", "stream", "run", "--count", str(EVENTS)]
    argv += ["--seed", str(seed), "--enrich-actors", "2", "--consumers", "1"]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_env(stack: Settings, service_url: str, topic: str, dead_letters: str, db: str) -> dict:
    return {
        **os.environ,
        "FITRAY_CALORIE_API_URL": service_url,
        "FITRAY_CALORIE_RATE_LIMIT_PER_S": str(RATE),
        "FITRAY_CALORIE_RATE_BURST": str(BURST),
        "FITRAY_KAFKA_ENRICHED_TOPIC": topic,
        "FITRAY_KAFKA_DEAD_LETTER_TOPIC": dead_letters,
        "FITRAY_STREAM_CONSUMER_GROUP": f"group-{db}",
        "FITRAY_MONGO_DATABASE": db,
        "COLUMNS": "160",
    }


def distinct_keys(stack: Settings, seed: int) -> int:
    """Calls a run of EVENTS workouts makes: one per calorie lookup key (key routing gives
    each key to one actor, whose cache then answers it; concurrent lookups share one call)."""
    resolver = ActivityResolver.from_files(
        stack.mapping_path, stack.exercises_file, stack.activities_file
    )
    router = KeyRouter(resolver, stack.calorie_weight_step_lb)
    workouts = WorkoutGenerator.from_settings(stack, seed=seed, count=EVENTS).batches(EVENTS)
    return len({router.key(w) for batch in workouts for w in batch.workouts})


def test_two_runs_share_one_limit_that_survives_a_limiter_restart(
    stack: Settings, calorie_service: Callable[..., Any], kafka_topics: Any, tmp_path: Path
) -> None:
    import ray
    from ray.util.state import list_actors

    service = calorie_service()  # no limit of its own: /stats measures what clients send
    actor_name = f"fitray-rate-limit-{api_limit_name(service.url, None)}"
    databases = [f"limit_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    runs = [
        spawn_run(
            run_env(stack, service.url, kafka_topics("enriched"), kafka_topics("dlq", 1), db),
            seed=seed,
            log=tmp_path / f"run-{seed}.log",
        )
        for seed, db in zip((101, 102), databases, strict=True)
    ]
    connect_ray(stack)
    try:
        wait_for(lambda: service.stats()["ok"] >= EVENTS * 2 // 3, 120, "a third of the calls")
        ray.kill(ray.get_actor(actor_name, namespace=NAMESPACE), no_restart=False)
        for run in runs:
            assert run.wait(180) == 0, (tmp_path / "run-101.log").read_text()[-3000:]
        stats = service.stats()
        (limiter,) = list_actors(
            filters=[("name", "=", actor_name)], detail=True, raise_on_missing_output=False
        )
    finally:
        for run in runs:
            run.kill()
        ray.kill(ray.get_actor(actor_name, namespace=NAMESPACE), no_restart=True)

    assert (limiter.state, limiter.num_restarts, limiter.is_detached) == ("ALIVE", 1, True)
    calls = distinct_keys(stack, 101) + distinct_keys(stack, 102)
    assert stats["ok"] == calls, stats  # every key one call per run, none lost, none doubled
    assert stats["max_requests_in_any_1s_window"] <= RATE * (1 + SEND_JITTER_S) + BURST, stats
    # the bucket's guarantee over the whole run: N calls in T seconds need N <= burst + rate * T
    assert stats["accepted"] <= BURST + RATE * stats["accepted_span_s"], stats
    client = mongo_client(stack)
    try:
        stored = [client[db][stack.stream_collection].count_documents({}) for db in databases]
    finally:
        for db in databases:
            client.drop_database(db)
        client.close()
    assert stored == [EVENTS, EVENTS]
