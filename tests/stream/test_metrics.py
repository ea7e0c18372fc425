"""The pipeline's metrics reach Ray's metrics endpoint while a stream runs (what Prometheus,
the Ray dashboard and Grafana read), named as the README says."""

from __future__ import annotations

import threading
import urllib.request
from collections import defaultdict

import pytest
import ray
from prometheus_client.parser import text_string_to_metric_families

from fitray.clients.ray import connect_ray
from fitray.stream.pipeline import StreamPipeline
from tests.stream.conftest import StreamEnv, wait_for

pytestmark = pytest.mark.slow
WATCHED = {
    ("ray_fitray_stream_events_in", "enrich"),
    ("ray_fitray_stream_events_out", "produce"),
    ("ray_fitray_stream_events_out", "consume"),
    ("ray_fitray_calorie_calls", None),
}


def scrape() -> dict[tuple[str, str | None], dict[str, float]]:
    """(metric, stage) -> {worker id: value} from every live node's metrics export port."""
    found: dict[tuple[str, str | None], dict[str, float]] = defaultdict(dict)
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("ray_fitray_") and sample.name.endswith("_total"):
                    key = (sample.name.removesuffix("_total"), sample.labels.get("stage"))
                    found[key][sample.labels.get("WorkerId", "")] = sample.value
    return found


def test_stage_counters_move_on_rays_metrics_endpoint_during_a_run(stream_env: StreamEnv) -> None:
    connect_ray(stream_env.settings)
    before = scrape()
    options = stream_env.options(count=3000, seed=61, rate_per_s=150)
    pipeline = StreamPipeline(stream_env.settings, options)
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()

    def moved() -> bool:
        now = scrape()
        return all(
            any(value > before.get(key, {}).get(worker, 0.0) for worker, value in now[key].items())
            for key in WATCHED
        )

    try:
        wait_for(moved, 60, f"every one of {sorted(map(str, WATCHED))} to increase")
    finally:
        runner.join(120)
    assert pipeline.summary.stored == 3000
