"""The batch steps, each a plain function of settings and data (Prefect tasks wrap them).

Names follow the original flow: reference CSV, watermark, new documents, merge with CSV,
derived metrics, load — plus staging before the load and purging after its commit.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fitray.batch import extract, reference, transform
from fitray.batch.staging import open_staging
from fitray.warehouse import LoadRecord, LoadResult, open_warehouse

__all__ = [
    "derived_metrics",
    "latest_stored_at",
    "load",
    "merge_with_csv",
    "new_documents",
    "new_load_id",
    "plan_slices",
    "purge_staged",
    "reference_csv",
    "stage",
    "watermark",
]


def new_load_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@contextmanager
def _collection(settings: Any) -> Iterator[Any]:
    from pymongo import MongoClient

    client: MongoClient = MongoClient(
        settings.mongo_url.get_secret_value(), serverSelectionTimeoutMS=10_000
    )
    try:
        yield client[settings.mongo_database][extract.COLLECTION]
    finally:
        client.close()


def reference_csv(settings: Any) -> pa.Table:
    from fitray.stack.objectstore import s3_client

    local = settings.data_dir / "megaGymDataset.csv"
    return reference.read_reference(
        s3_client(settings), settings.s3_bucket, settings.reference_key, local
    )


def watermark(settings: Any, backend: str | None = None) -> datetime | None:
    return open_warehouse(settings, backend).read_watermark()


def new_documents(settings: Any, watermark: datetime | None) -> pa.Table:
    """Documents stored since the watermark less the overlap (see :mod:`fitray.batch.extract`)."""
    since = None if watermark is None else watermark - timedelta(seconds=settings.batch_overlap_s)
    with _collection(settings) as collection:
        return extract.extract_new_documents(collection, since)


def merge_with_csv(documents: pa.Table, exercises: pa.Table) -> pa.Table:
    return transform.merge_with_reference(documents, exercises)


def derived_metrics(merged: pa.Table, load_id: str, extracted_at: datetime) -> pa.Table:
    return transform.to_warehouse_rows(merged, load_id, extracted_at)


def stage(settings: Any, rows: pa.Table, load_id: str, part: int) -> str:
    return open_staging(settings).write(rows, load_id, part)


def load(
    settings: Any,
    record: LoadRecord,
    backend: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> LoadResult:
    warehouse = open_warehouse(settings, backend, before_commit=before_commit)
    return warehouse.load(open_staging(settings), record)


def purge_staged(settings: Any, load_id: str) -> None:
    if not settings.keep_staged_files:
        open_staging(settings).purge(load_id)


def latest_stored_at(documents: pa.Table, before: datetime | None) -> datetime | None:
    """The watermark after this load: the latest ``stored_at`` seen so far."""
    latest = pc.max(documents["stored_at"]).as_py() if documents.num_rows else None
    candidates = [t for t in (before, latest) if t is not None]
    return max(candidates) if candidates else None


def plan_slices(rows: int, batch_rows: int, max_tasks: int) -> list[tuple[int, int]]:
    """(offset, length) of each task's slice: ~batch_rows each, never more than max_tasks."""
    if rows == 0:
        return []
    tasks = min(max_tasks, math.ceil(rows / batch_rows))
    size = math.ceil(rows / tasks)
    return [(offset, min(size, rows - offset)) for offset in range(0, rows, size)]
