"""The stream and the batch flow on two Ray nodes: work lands on both, results stay exactly
once. Node ids come from Ray itself (the state API for actors, the slices' own report for the
flow), so a run that silently stayed on the head fails here."""

from __future__ import annotations

from typing import Any

import pytest

from fitray.config import Settings
from fitray.stream.pipeline import StreamPipeline
from flows.etl import run_batch_flow
from tests.cluster.conftest import TwoNodes, node_of
from tests.stream.conftest import StreamEnv, expected_ids
from tests.stream.test_faults import assert_stored_once
from tests.warehouse.conftest import BASE_TIME, make_doc, query, seed

pytestmark = pytest.mark.slow


def actor_nodes(actors: list[Any]) -> set[str | None]:
    return {node_of(a) for a in actors}


def test_stream_actors_spread_over_both_nodes_and_store_once(
    two_nodes: TwoNodes, stream_env: StreamEnv
) -> None:
    count = 2000
    options = stream_env.options(count=count, seed=71, enrich_actors=2, consumer_actors=2)
    pipeline = StreamPipeline(stream_env.settings, options)
    summary = pipeline.run()
    assert actor_nodes(pipeline.enrichers + pipeline.consumers) == {
        two_nodes.head,
        two_nodes.worker,
    }
    assert summary.produced == count
    assert_stored_once(stream_env, expected_ids(71, count), summary)


def assert_loaded_once(settings: Settings, ids: set[str], summary: Any) -> None:
    """Every document once in the warehouse, one committed load, counts that reconcile."""
    assert (summary.documents_read, summary.rows_inserted, summary.rows_skipped) == (
        len(ids),
        len(ids),
        0,
    )
    rows = query("duckdb", settings, "select event_id from exercises_enriched")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert query("duckdb", settings, "select count(*) from loads") == [(1,)]


def test_batch_slices_run_on_both_nodes_and_load_once(
    two_nodes: TwoNodes, batch_settings: Settings, mongo_db: Any
) -> None:
    ids = {f"c{i:04d}" for i in range(400)}
    seed(mongo_db, [make_doc(i, BASE_TIME) for i in sorted(ids)])
    # 2 slices of one CPU: both fit on the head's 2 CPUs, where Ray's default would keep them;
    # the flow spreads its slices over the nodes
    settings = batch_settings.model_copy(update={"batch_rows": 200, "batch_max_tasks": 2})
    summary = run_batch_flow(settings, "duckdb")
    assert set(summary.nodes) == {two_nodes.head, two_nodes.worker}
    assert_loaded_once(settings, ids, summary)
