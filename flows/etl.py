"""The batch ETL as a Prefect flow whose tasks run on Ray (prefect-ray's RayTaskRunner).

Steps keep the original's names: reference CSV, watermark, new documents, merge with CSV,
derived metrics, load — plus stage and purge staged. Arrow tables travel through
Ray's object store (``ray.put`` by the driver, task returns held by Ray), never through
persisted Prefect results: result persistence and caching are off. The number of Ray tasks
per step is bounded (``batch_max_tasks``), each over a large slice (``batch_rows``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect_ray import RayTaskRunner

from fitray.batch import steps
from fitray.batch.pipeline import BatchSummary
from fitray.compute import prepare_driver_env, ray_init_kwargs
from fitray.config import Settings, get_settings
from fitray.exceptions import ConfigError
from fitray.stack.prefect import prefect_env
from fitray.warehouse import LoadRecord, LoadResult

__all__ = [
    "FLOW_NAME",
    "batch_etl",
    "on_step",
    "ray_task_runner",
    "run_batch_flow",
    "run_settings",
]

FLOW_NAME = "fitray-batch-etl"
TASK_OPTIONS: dict[str, Any] = {"persist_result": False, "cache_policy": NO_CACHE, "retries": 0}
# The CLI's progress display listens here; a flow parameter could not carry a callable.
on_step: ContextVar[Callable[[str], None] | None] = ContextVar("on_step", default=None)


@task(name="reference CSV", **TASK_OPTIONS)
def reference_csv(settings: Settings) -> pa.Table:
    return steps.reference_csv(settings)


@task(name="watermark", **TASK_OPTIONS)
def watermark(settings: Settings, backend: str) -> datetime | None:
    return steps.watermark(settings, backend)


@task(name="new documents", **TASK_OPTIONS)
def new_documents(settings: Settings, watermark: datetime | None) -> pa.Table:
    return steps.new_documents(settings, watermark)


@task(name="merge with CSV", **TASK_OPTIONS)
def merge_with_csv(documents: list[pa.Table], exercises: pa.Table) -> pa.Table:
    # ``documents`` is a one-element list: prefect-ray resolves the ray.put ref inside it.
    return steps.merge_with_csv(documents[0], exercises)


@task(name="derived metrics", **TASK_OPTIONS)
def derived_metrics(merged: pa.Table, load_id: str, extracted_at: datetime) -> pa.Table:
    return steps.derived_metrics(merged, load_id, extracted_at)


@task(name="stage", **TASK_OPTIONS)
def stage(settings: Settings, rows: pa.Table, load_id: str, part: int) -> str:
    return steps.stage(settings, rows, load_id, part)


@task(name="load", **TASK_OPTIONS)
def load(settings: Settings, record: LoadRecord, backend: str) -> LoadResult:
    return steps.load(settings, record, backend)


@task(name="purge staged", **TASK_OPTIONS)
def purge_staged(settings: Settings, load_id: str) -> None:
    steps.purge_staged(settings, load_id)


def run_settings(overrides: dict[str, Any] | None) -> Settings:
    """Settings of a run: the environment plus non-secret overrides passed as a parameter."""
    settings = get_settings()
    secret = [k for k in overrides or {} if "password" in k or "secret" in k or k == "mongo_url"]
    if secret:
        raise ConfigError(
            f"flow parameters are visible in Prefect; set {secret} in the environment"
        )
    return Settings.model_validate({**settings.model_dump(), **(overrides or {})})


def ray_task_runner(settings: Settings) -> RayTaskRunner:
    """Tasks on the stack's Ray; workers report to the stack's Prefect server (no temp server)."""
    return RayTaskRunner(address=settings.ray_address, init_kwargs=ray_init_kwargs(settings))


@flow(
    name=FLOW_NAME,
    task_runner=ray_task_runner(get_settings()),  # connects on entering a run, not here
    persist_result=False,
    validate_parameters=False,
)
def batch_etl(backend: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """One batch run: new documents -> Arrow -> metadata -> metrics -> Parquet -> warehouse."""
    import ray

    settings = run_settings(overrides)
    backend = backend or settings.warehouse_backend
    started_at = datetime.now(UTC)
    summary = BatchSummary(steps.new_load_id(started_at))
    step = _Steps(summary)
    exercises_f = reference_csv.submit(settings)  # runs while the documents are read
    summary.watermark_before = step("watermark", watermark.submit(settings, backend).result)
    documents_f = new_documents.submit(settings, summary.watermark_before)
    documents = step("new documents", documents_f.result)
    step("reference CSV", exercises_f.wait)
    slices = steps.plan_slices(documents.num_rows, settings.batch_rows, settings.batch_max_tasks)
    refs = [ray.put(documents.slice(offset, length)) for offset, length in slices]
    files = step("merge, metrics, stage", _transform, settings, refs, exercises_f, summary)
    summary.watermark_after = steps.latest_stored_at(documents, summary.watermark_before)
    record = LoadRecord(
        summary.load_id, started_at, summary.watermark_before, summary.watermark_after,
        documents.num_rows, tuple(files),
    )  # fmt: skip
    result = step("load", load.submit(settings, record, backend).result)
    step("purge staged", purge_staged.submit(settings, summary.load_id).result)
    summary.documents_read, summary.staging_files = documents.num_rows, tuple(files)
    summary.rows_inserted, summary.rows_skipped = result.rows_inserted, result.rows_skipped
    return asdict(summary)


def _transform(settings: Settings, refs: list, exercises_f: Any, summary: BatchSummary) -> list:
    extracted_at = datetime.now(UTC)
    futures = []
    for part, ref in enumerate(refs):
        merged = merge_with_csv.submit([ref], exercises_f)
        rows = derived_metrics.submit(merged, summary.load_id, extracted_at)
        futures.append(stage.submit(settings, rows, summary.load_id, part))
    return [f.result() for f in futures]


class _Steps:
    """Times each step as the driver sees it (submit to result) and reports it."""

    def __init__(self, summary: BatchSummary) -> None:
        self.summary = summary

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        listener = on_step.get()
        if listener:
            listener(name)
        started = time.perf_counter()
        value = fn(*args)
        self.summary.step_seconds[name] = time.perf_counter() - started
        return value


def run_batch_flow(backend: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Run the flow once against the configured Prefect server and Ray cluster."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = get_settings()
    prepare_driver_env(settings)  # RayTaskRunner calls ray.init in this process
    for name, value in prefect_env(settings.prefect_api_url).items():
        os.environ.setdefault(name, value)
    with temporary_settings(updates={PREFECT_API_URL: settings.prefect_api_url}):
        return batch_etl(backend=backend, overrides=overrides)


if __name__ == "__main__":
    run_batch_flow()
