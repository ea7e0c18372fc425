"""One batch run in this process (no Ray, no Prefect): the tests' and the bench's runner.

It runs exactly the steps the Prefect flow runs, in the same order, so what the tests prove
about increments and crashes holds for the flow too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fitray.batch import steps
from fitray.warehouse import LoadRecord

__all__ = ["BatchSummary", "run_batch"]


@dataclass
class BatchSummary:
    """What a run did; counts reconcile: documents_read = rows_inserted + rows_skipped."""

    load_id: str
    documents_read: int = 0
    rows_inserted: int = 0
    rows_skipped: int = 0
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    staging_files: tuple[str, ...] = ()
    step_seconds: dict[str, float] = field(default_factory=dict)


class _Timer:
    def __init__(self, summary: BatchSummary, progress: Callable[[str], None] | None) -> None:
        self.summary, self.progress = summary, progress

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.progress:
            self.progress(name)
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        self.summary.step_seconds[name] = time.perf_counter() - started
        return value


def run_batch(
    settings: Any,
    backend: str | None = None,
    before_commit: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Extract, transform, stage, load (one transaction), then purge the staged files."""
    started_at = datetime.now(UTC)
    summary = BatchSummary(steps.new_load_id(started_at))
    step = _Timer(summary, progress)
    exercises = step("reference CSV", steps.reference_csv, settings)
    summary.watermark_before = step("watermark", steps.watermark, settings, backend)
    documents = step("new documents", steps.new_documents, settings, summary.watermark_before)
    merged = step("merge with CSV", steps.merge_with_csv, documents, exercises)
    rows = step("derived metrics", steps.derived_metrics, merged, summary.load_id, started_at)
    files = []
    for part, (offset, length) in enumerate(
        steps.plan_slices(rows.num_rows, settings.batch_rows, settings.batch_max_tasks)
    ):
        files.append(
            step("stage", steps.stage, settings, rows.slice(offset, length), summary.load_id, part)
        )
    summary.watermark_after = steps.latest_stored_at(documents, summary.watermark_before)
    record = LoadRecord(
        summary.load_id,
        started_at,
        summary.watermark_before,
        summary.watermark_after,
        documents.num_rows,
        tuple(files),
    )
    result = step("load", steps.load, settings, record, backend, before_commit)
    step("purge staged", steps.purge_staged, settings, summary.load_id)
    summary.documents_read, summary.staging_files = documents.num_rows, tuple(files)
    summary.rows_inserted, summary.rows_skipped = result.rows_inserted, result.rows_skipped
    return summary
