"""Faults mid-run -- actors killed, a consumer process SIGKILLed, the broker and the document
store restarted -- each ending with every event stored once: none lost, none doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import ray

from fitray.clients.kafka import partition_lag
from fitray.clients.ray import connect_ray
from fitray.stack import Stack
from fitray.stream.pipeline import StreamPipeline
from tests.stream.conftest import StreamEnv, expected_ids, wait_for
from tests.stream.helpers import enriched, publish

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def assert_exactly_once(env: StreamEnv, ids: set[str]) -> None:
    stored = env.stored_ids()
    assert len(stored) == len(ids), f"{len(stored)} documents for {len(ids)} events"
    assert set(stored) == ids


def test_enrichment_and_consumer_actors_killed_mid_run(stream_env: StreamEnv) -> None:
    count, killed = 3000, []
    pipeline = StreamPipeline(
        stream_env.settings, stream_env.options(count=count, seed=21, max_in_flight=3)
    )

    def kill_some(summary: Any) -> None:
        if summary.produced >= 500 and "enricher" not in killed:
            ray.kill(pipeline.enrichers[0], no_restart=False)
            killed.append("enricher")
        if summary.stored >= 500 and "consumer" not in killed:
            ray.kill(pipeline.consumers[0], no_restart=False)
            killed.append("consumer")

    summary = pipeline.run(kill_some)

    # Either may come first: a consumer can store a batch before its produce report arrives.
    assert sorted(killed) == ["consumer", "enricher"]
    assert summary.generated == count and summary.lag == 0
    assert_exactly_once(stream_env, expected_ids(21, count))


def spawn_consumer(env: StreamEnv, log_path: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "fitray.cli.stream",
        "consume",
        "--topic",
        env.topic,
        "--group",
        env.group_id,
        "--database",
        env.db.name,
        "--dead-letter-topic",
        env.dead_letter_topic,
    ]
    env_vars = {**os.environ, "FITRAY_STREAM_POLL_BATCH": "100"}
    with log_path.open("ab") as log:
        return subprocess.Popen(argv, cwd=REPO, env=env_vars, stdout=log, stderr=log)


def test_consumer_process_killed_with_sigkill_resumes_from_committed_offsets(
    stream_env: StreamEnv, tmp_path: Path
) -> None:
    s, workouts = stream_env.settings, enriched(seed=31, count=4000)
    messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in workouts]
    publish(s.kafka_bootstrap_servers, stream_env.topic, messages)
    log_path = tmp_path / "consumer.log"

    first = spawn_consumer(stream_env, log_path)
    try:
        at_kill = wait_for(stream_env.collection.estimated_document_count, 60, "a first write")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert at_kill < len(workouts), "the consumer finished before it could be killed"

    second = spawn_consumer(stream_env, log_path)
    try:
        wait_for(
            lambda: sum(partition_lag(s, stream_env.group_id, stream_env.topic).values()) == 0,
            90,
            "the second consumer to commit everything",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log_path.read_text()
    finally:
        second.kill()
    assert_exactly_once(stream_env, {w.event_id for w in workouts})


def restart_when(
    condition: Callable[[], bool], service: str, env: StreamEnv, progress: Callable[[], int]
) -> threading.Thread:
    """A thread that stops ``service`` once ``condition`` holds, then starts it again;
    ``thread.progress_at_stop`` records ``progress()`` when the server went down."""
    errors: list[BaseException] = []

    def restart() -> None:
        stack = Stack(env.settings, [service])
        try:
            wait_for(condition, 60, f"the moment to restart {service}")
            thread.progress_at_stop = progress()  # type: ignore[attr-defined]
            stack.down()
        except BaseException as exc:  # pytest.fail included: reported by the test
            errors.append(exc)
        finally:
            stack.up()

    thread = threading.Thread(target=restart, name=f"restart-{service}", daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


@pytest.mark.parametrize("service", ["kafka", "ferretdb"])
def test_server_restarted_mid_run(stream_env: StreamEnv, service: str) -> None:
    count = 2500
    connect_ray(stream_env.settings)
    pipeline = StreamPipeline(
        stream_env.settings,
        stream_env.options(count=count, seed=41, rate_per_s=400, drain_timeout_s=120),
    )
    restarter = restart_when(
        lambda: pipeline.summary.stored >= 300, service, stream_env, lambda: pipeline.summary.stored
    )
    try:
        summary = pipeline.run()
    finally:
        restarter.join(120)
    assert not restarter.errors, restarter.errors  # type: ignore[attr-defined]
    assert restarter.progress_at_stop < count  # type: ignore[attr-defined]
    assert summary.generated == count
    assert_exactly_once(stream_env, expected_ids(41, count))
