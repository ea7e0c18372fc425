"""What a person watches: every metric the Grafana dashboard queries exists in a real scrape of
Ray's nodes after a stream run, the stack's Prometheus (fed by Ray's discovery file) answers
PromQL with that run's event count, and the Ray dashboard's Prometheus health check is green."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import ray
from prometheus_client.parser import text_string_to_metric_families
from ray.util.state import list_workers

from fitray.config import PROJECT_ROOT, Settings
from fitray.stack.prometheus import PrometheusService
from fitray.stack.ray import dashboard_access_hint, ray_auth_token
from fitray.stream import wiring
from fitray.stream.pipeline import StreamPipeline
from fitray.stream.source import WorkoutGenerator
from tests.cluster.conftest import TwoNodes
from tests.stream.conftest import StreamEnv, wait_for
from tests.stream.helpers import TITLES, publish

pytestmark = pytest.mark.slow
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "dashboards" / "fitray.json"


def queried_metrics() -> set[str]:
    """Every Prometheus series name the Grafana dashboard's panels query."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"] if "expr" in t]
    return {name for expr in exprs for name in re.findall(r"ray_fitray_[a-z_]+", expr)}


def scrape_names() -> set[str]:
    """Sample names on every live node's metrics export port (what Prometheus scrapes)."""
    names: set[str] = set()
    for node in ray.nodes():
        if node["Alive"]:
            url = f"http://127.0.0.1:{node['MetricsExportPort']}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
            for family in text_string_to_metric_families(text):
                names.update(s.name for s in family.samples if s.name.startswith("ray_fitray_"))
    return names


def prometheus_value(settings: Settings, promql: str) -> float | None:
    result = PrometheusService(settings).query(promql)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_dashboard_metrics_exist_and_prometheus_counts_the_run(
    two_nodes: TwoNodes,
    stream_env: StreamEnv,
    kafka_topics: Callable[..., str],
    calorie_service: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flaky = calorie_service(error_rate=0.2, seed=7)  # retries and failures, on purpose
    settings = stream_env.settings.model_copy(update={"calorie_api_url": flaky.url})
    raw_topic, count = kafka_topics("raw", partitions=2), 1500
    gen = WorkoutGenerator(TITLES, seed=91, count=count)
    messages: list[tuple[bytes | None, bytes | None]] = [
        (w.event_id.encode(), w.model_dump_json().encode())
        for b in gen.batches(500)
        for w in b.workouts
    ]
    messages[50:50] = [(b"bad-1", b"not json"), (b"bad-2", b'{"event_id": "x"}')]
    publish(settings.kafka_bootstrap_servers, raw_topic, messages)
    options = stream_env.options(source="topic", raw_topic=raw_topic, count=None)
    # the run lasts until this test stops it: Ray exports a worker's metrics every few seconds,
    # and a run that ends on its own (5 s idle) can take its actors' last series with it
    monkeypatch.setattr(wiring, "RAW_TOPIC_IDLE_STOP_S", 600.0)
    pipeline = StreamPipeline(settings, options)
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    wanted = queried_metrics()
    try:  # while the run's actors live, their series are being exported
        wait_for(
            lambda: pipeline.summary.stored >= count,
            120,
            lambda: f"{count} events stored: {pipeline.summary}",
        )
        wait_for(
            lambda: not wanted - scrape_names(),
            90,
            lambda: f"dashboard metrics missing from the scrape: {wanted - scrape_names()}",
        )
    finally:
        pipeline.stop("the test has its scrape")
        runner.join(180)
    assert not runner.is_alive(), "a stopped run whose source waits for input ends"
    summary = pipeline.summary
    assert summary.stored == count and summary.dead_letters == {"source": 2}, summary

    # Prometheus scraped both nodes through Ray's discovery file, and counts this run's events
    worker_metrics = f"127.0.0.1:{two_nodes.service.settings.ray_worker_port + 5}"
    up = f'up{{job="ray", instance="{worker_metrics}"}}'
    wait_for(lambda: prometheus_value(stream_env.settings, up) == 1, 30, "a scrape of node 2")
    consumers = "|".join(worker_id(a) for a in pipeline.consumers)
    stored = f'sum(ray_fitray_stream_events_out_total{{stage="consume", WorkerId=~"{consumers}"}})'
    wait_for(
        lambda: (
            prometheus_value(stream_env.settings, f"max_over_time(({stored})[10m:5s])") == count
        ),
        60,
        f"Prometheus to count the {count} stored events",
    )
    # where the actors landed is tests/cluster/test_two_nodes.py's business (Ray's SPREAD is
    # best effort for zero-CPU actors); here both nodes' exporters were scraped, above


def worker_id(actor: Any) -> str:
    """Ray's WorkerId label of an actor's process (its metrics carry it)."""
    from ray.util.state import get_actor

    state = get_actor(actor._actor_id.hex())
    assert state is not None and state.pid and state.node_id
    same_pid = list_workers(
        filters=[("pid", "=", state.pid), ("node_id", "=", state.node_id)],
        detail=True,
        raise_on_missing_output=False,
    )  # an old, dead worker may have had the same pid: ours is the latest launched
    return str(max(same_pid, key=lambda w: w.worker_launch_time_ms or 0).worker_id)


def test_ray_dashboard_sees_prometheus_healthy(stack: Settings) -> None:
    request = urllib.request.Request(f"{stack.ray_dashboard_url}/api/prometheus_health")
    if token := ray_auth_token():
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    assert answer["result"] is True, answer


def test_stack_status_says_how_to_get_past_the_token_dialog_without_the_token(
    stack: Settings,
) -> None:
    token = ray_auth_token()
    assert token, "the local head runs with token auth"
    done = subprocess.run(
        [sys.executable, "-m", "fitray", "stack", "status", "ray"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "get-auth-token" in done.stdout and "asks for a token" in done.stdout
    assert token not in done.stdout + done.stderr
    hint = dashboard_access_hint(stack)
    assert hint and token not in hint
    assert dashboard_access_hint(stack.model_copy(update={"ray_auth_mode": "disabled"})) is None
