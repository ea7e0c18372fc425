"""The batch ETL as a Prefect flow: the one definition of the batch's sequence.

Production runs its tasks on Ray (prefect-ray's ``RayTaskRunner``); ``fitray batch --local``
runs the same flow with Prefect's thread-pool runner in one process. Steps keep the original's
names -- reference CSV, watermark, new documents, merge with CSV, derived metrics, load -- plus
stage and purge staged; merge, metrics and stage run as one task per slice (``transform``).
Arrow tables travel through Ray's object store, never through persisted Prefect results
(result persistence and caching are off). The number of slices is bounded (``batch_max_tasks``),
each of about ``batch_rows`` rows.

Settings reach the flow as the process environment plus ``overrides`` (non-secret fields only:
flow parameters are visible in the Prefect UI); the task runner is built from the settings of
the run, not of the import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from prefect import Flow, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect_ray import RayTaskRunner
from prefect_ray.context import remote_options

from fitray.batch import steps
from fitray.batch.summary import BatchSummary, SliceResult
from fitray.clients.prefect import prefect_env, require_prefect
from fitray.clients.ray import connect_ray, ray_init_kwargs
from fitray.config import Settings, WarehouseBackend, get_settings
from fitray.exceptions import ConfigError
from fitray.warehouse import LoadRecord, LoadResult

__all__ = [
    "FLOW_NAME",
    "batch_etl",
    "configured_flow",
    "on_step",
    "run_batch_flow",
    "run_settings",
    "settings_overrides",
]

FLOW_NAME = "fitray-batch-etl"
TASK_OPTIONS: dict[str, Any] = {"persist_result": False, "cache_policy": NO_CACHE, "retries": 0}
# The CLI's progress display listens here; a flow parameter could not carry a callable.
on_step: ContextVar[Callable[[str], None] | None] = ContextVar("on_step", default=None)


@task(name="reference CSV", **TASK_OPTIONS)
def reference_csv(settings: Settings) -> pa.Table:
    return steps.reference_csv(settings)


@task(name="watermark", **TASK_OPTIONS)
def watermark(settings: Settings, backend: WarehouseBackend) -> datetime | None:
    return steps.watermark(settings, backend)


@task(name="new documents", **TASK_OPTIONS)
def new_documents(settings: Settings, watermark: datetime | None) -> pa.Table:
    return steps.new_documents(settings, watermark)


@task(name="transform", **TASK_OPTIONS)
def transform(
    settings: Settings,
    documents: list[pa.Table],
    exercises: pa.Table,
    load_id: str,
    part: int,
    extracted_at: datetime,
) -> SliceResult:
    """Merge with CSV, derived metrics, stage -- one slice. ``documents`` is a one-element
    list: prefect-ray resolves an object reference inside a list, not a bare one."""
    return steps.transform_slice(settings, documents[0], exercises, load_id, part, extracted_at)


@task(name="load", **TASK_OPTIONS)
def load(settings: Settings, record: LoadRecord, backend: WarehouseBackend) -> LoadResult:
    return steps.load(settings, record, backend)


@task(name="purge staged", **TASK_OPTIONS)
def purge_staged(settings: Settings, load_id: str) -> None:
    steps.purge_staged(settings, load_id)


@task(name="refresh report", **TASK_OPTIONS)
def refresh_report(settings: Settings, backend: WarehouseBackend) -> list[str]:
    """The static report (report.html + a PNG per chart) of what the warehouse now holds."""
    from fitray.dashboard.report import refresh_report as write_report

    run = settings.model_copy(update={"warehouse_backend": backend})
    return [str(path) for path in write_report(run, run.report_folder)]


@flow(name=FLOW_NAME, persist_result=False, validate_parameters=False)
def batch_etl(
    backend: WarehouseBackend | None = None, overrides: dict[str, Any] | None = None
) -> BatchSummary:
    """One batch run: new documents -> Arrow -> metadata -> metrics -> Parquet -> warehouse."""
    settings = run_settings(overrides)
    chosen: WarehouseBackend = backend or settings.warehouse_backend
    started, started_at = time.perf_counter(), datetime.now(UTC)
    summary = BatchSummary(steps.new_load_id(started_at), backend=chosen, flow_run_id=_run_id())
    step = _StepTimer(summary)
    exercises_f = reference_csv.submit(settings)  # runs while the documents are read
    summary.watermark_before = step("watermark", watermark.submit(settings, chosen).result)
    documents = step(
        "new documents", new_documents.submit(settings, summary.watermark_before).result
    )
    step("reference CSV", exercises_f.wait)
    slices = step("merge, metrics, stage", _transform, settings, documents, exercises_f, summary)
    summary.watermark_after = steps.latest_stored_at(documents, summary.watermark_before)
    summary.documents_read = documents.num_rows
    summary.staging_files = tuple(s.file for s in slices)
    record = LoadRecord(
        summary.load_id, started_at, summary.watermark_before, summary.watermark_after,
        documents.num_rows, summary.staging_files,
    )  # fmt: skip
    result = step("load", load.submit(settings, record, chosen).result)
    step("purge staged", purge_staged.submit(settings, summary.load_id).result)
    summary.rows_inserted, summary.rows_skipped = result.rows_inserted, result.rows_skipped
    _refresh_report(settings, chosen, summary, step)
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _refresh_report(
    settings: Settings, backend: WarehouseBackend, summary: BatchSummary, step: _StepTimer
) -> None:
    """The load has committed: a report that cannot be written is logged and recorded in the
    summary, and the run still succeeds (the next run writes it again)."""
    try:
        files = step("refresh report", refresh_report.submit(settings, backend).result)
        summary.report_files = tuple(files)
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        summary.report_error = f"{type(exc).__name__}: {text}"[:300]
        get_run_logger().warning("report not refreshed: %s", summary.report_error)


def _transform(
    settings: Settings, documents: pa.Table, exercises_f: Any, summary: BatchSummary
) -> list[SliceResult]:
    extracted_at, on_ray = datetime.now(UTC), _on_ray()
    futures = []
    plan = steps.plan_slices(documents.num_rows, settings.batch_rows, settings.batch_max_tasks)
    # dealt over the cluster's nodes: Ray's default packs the driver's node first, and slices
    # that finish quickly left a second node idle
    with remote_options(scheduling_strategy="SPREAD"):
        for part, (offset, length) in enumerate(plan):
            rows = documents.slice(offset, length)
            piece = [_ray_put(rows)] if on_ray else [rows]
            futures.append(
                transform.submit(settings, piece, exercises_f, summary.load_id, part, extracted_at)
            )
    slices = [f.result() for f in futures]
    for result in slices:
        for name, seconds in result.seconds.items():
            summary.add_seconds(name, seconds)
    summary.nodes = tuple(sorted({s.node_id for s in slices if s.node_id}))
    return slices


def _run_id() -> str | None:
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None


def _on_ray() -> bool:
    context = FlowRunContext.get()
    return context is not None and isinstance(context.task_runner, RayTaskRunner)


def _ray_put(table: pa.Table) -> Any:
    import ray

    return ray.put(table)


class _StepTimer:
    """Times a step run once, as the driver sees it (submit to result), and reports it."""

    def __init__(self, summary: BatchSummary) -> None:
        self.summary = summary

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        if listener := on_step.get():
            listener(name)
        started = time.perf_counter()
        value = fn(*args)
        if name != "merge, metrics, stage":  # its slices report their own step times
            self.summary.add_seconds(name, time.perf_counter() - started)
        return value


def run_settings(overrides: dict[str, Any] | None) -> Settings:
    """Settings of a run: the environment plus non-secret overrides passed as a parameter."""
    secret = [k for k in overrides or {} if k in _secret_fields()]
    if secret:
        raise ConfigError(
            f"flow parameters are visible in Prefect; set {secret} in the environment"
        )
    return Settings.model_validate({**get_settings().model_dump(), **(overrides or {})})


def settings_overrides(settings: Settings) -> dict[str, Any]:
    """The non-secret fields in which ``settings`` differ from the environment's, as JSON."""
    base, wanted = get_settings().model_dump(mode="json"), settings.model_dump(mode="json")
    changed = {k: v for k, v in wanted.items() if base.get(k) != v}
    secret = sorted(set(changed) & _secret_fields())
    if secret:
        raise ConfigError(
            f"secrets cannot be passed to the batch flow ({', '.join(secret)}): flow parameters "
            "are visible in Prefect; set them in the environment of the flow's process"
        )
    return changed


def _secret_fields() -> set[str]:
    return {
        name
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }


def task_runner(settings: Settings, *, local: bool = False) -> TaskRunner[Any]:
    """Ray in production; Prefect's thread pool in this process for ``--local``."""
    if local:
        return ThreadPoolTaskRunner(max_workers=settings.batch_max_tasks)
    return RayTaskRunner(address=settings.ray_address, init_kwargs=ray_init_kwargs(settings))


def configured_flow(settings: Settings, *, local: bool = False) -> Flow[..., BatchSummary]:
    """The flow with its task runner built from ``settings`` (not from import-time settings)."""
    return batch_etl.with_options(task_runner=task_runner(settings, local=local))


def run_batch_flow(
    settings: Settings | None = None,
    backend: WarehouseBackend | None = None,
    *,
    local: bool = False,
) -> BatchSummary:
    """Run the flow once against the configured Prefect server (and Ray cluster)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = settings or get_settings()
    require_prefect(settings.prefect_api_url)
    if not local:
        connect_ray(settings)  # fails fast without a head; RayTaskRunner reuses the connection
    for name, value in prefect_env(settings.prefect_api_url).items():
        os.environ.setdefault(name, value)
    with temporary_settings(updates={PREFECT_API_URL: settings.prefect_api_url}):
        chosen = configured_flow(settings, local=local)
        return chosen(backend=backend, overrides=settings_overrides(settings))


if __name__ == "__main__":
    run_batch_flow()
