"""The second node's raylet SIGKILLed mid-run: the stream and the batch flow finish on the head,
every event stored once, the warehouse loaded once. Witnesses besides the stores' primary keys:
Kafka (topic size and committed offsets) and each run's own counts."""

from __future__ import annotations

from typing import Any

import pytest
import ray
from prefect_ray.context import remote_options
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from ray.util.state import list_tasks

from fitray.config import Settings
from fitray.stream.pipeline import StreamPipeline
from fitray.stream.summary import StreamSummary
from flows.etl import on_step, run_batch_flow
from tests.cluster.conftest import TwoNodes, node_of
from tests.cluster.test_two_nodes import assert_loaded_once
from tests.stream.conftest import StreamEnv, expected_ids
from tests.stream.kafka_state import committed_offsets, topic_size
from tests.warehouse.conftest import BASE_TIME, make_doc, seed

pytestmark = pytest.mark.slow


def test_worker_node_killed_mid_stream_run_stores_every_event_once(
    two_nodes: TwoNodes, stream_env: StreamEnv
) -> None:
    count, env = 3000, stream_env
    # 20 s of input: the five actors' processes start on a loaded machine well before its end
    options = env.options(count=count, seed=73, rate_per_s=150, drain_timeout_s=240)
    pipeline = StreamPipeline(env.settings, options)
    killed: dict[str, Any] = {}

    def kill_midway(summary: StreamSummary) -> None:
        if killed or summary.stored < 200:
            return
        actors = pipeline.enrichers + pipeline.consumers + [pipeline.producer]
        killed["actors"] = [a for a in actors if node_of(a) == two_nodes.worker]
        killed["raylet"] = two_nodes.kill_worker_raylet()
        killed["generated"] = summary.generated

    summary = pipeline.run(kill_midway)

    assert killed["actors"], "no actor was on the second node when it died"
    assert killed["generated"] < count, "the node died after the source was exhausted"
    # every actor that lived there was restarted on the head and finished the run
    assert {node_of(a) for a in killed["actors"]} == {two_nodes.head}
    assert summary.generated == count and summary.lag == 0 and summary.dead_lettered == 0
    stored = env.stored_ids()
    assert len(stored) == count and set(stored) == expected_ids(73, count)
    # a consumer killed between its write and its report leaves duplicates, never gaps
    assert summary.consumed == summary.stored + summary.duplicates
    assert summary.stored <= count <= summary.stored + summary.duplicates
    offsets = committed_offsets(env.settings, env.group_id, env.topic)
    assert sum(offsets.values()) == topic_size(env.settings, env.topic) >= count


def test_worker_node_killed_mid_batch_run_loads_once(
    two_nodes: TwoNodes, batch_settings: Settings, mongo_db: Any
) -> None:
    ids = {f"k{i:04d}" for i in range(600)}
    seed(mongo_db, [make_doc(i, BASE_TIME) for i in sorted(ids)])
    settings = batch_settings.model_copy(update={"batch_rows": 150, "batch_max_tasks": 4})
    killed: list[str] = []

    def kill_before_slices(step: str) -> None:
        # reference CSV, watermark and new documents ran on the worker (their results partly
        # still live in its object store); the slices are about to be sent there
        if step == "merge, metrics, stage":
            two_nodes.kill_worker_raylet()
            killed.append(step)

    # soft affinity: every task goes to the worker while it lives, anywhere once it is dead
    prefer_worker = NodeAffinitySchedulingStrategy(two_nodes.worker, soft=True)
    token = on_step.set(kill_before_slices)
    try:
        with remote_options(scheduling_strategy=prefer_worker):
            summary = run_batch_flow(settings, "duckdb")
    finally:
        on_step.reset(token)

    assert killed == ["merge, metrics, stage"]
    assert two_nodes.worker in nodes_of_tasks("watermark"), "the run never used the worker"
    assert set(summary.nodes) == {two_nodes.head}, "the slices did not move to the head"
    assert_loaded_once(settings, ids, summary)


def nodes_of_tasks(name: str) -> set[str]:
    job = ray.get_runtime_context().get_job_id()
    tasks = list_tasks(
        filters=[("job_id", "=", job), ("name", "=", name)], raise_on_missing_output=False
    )
    return {t.node_id for t in tasks if t.node_id}
