"""The batch steps' bodies, each a plain function of settings and data.

The Prefect flow (``flows/etl.py``) is the only place that sequences them; these functions are
what its tasks run. Names follow the original flow: reference CSV, watermark, new documents,
merge with CSV, derived metrics, load -- plus stage before the load and purge after its commit.
Merge, metrics and stage run together per slice (:func:`transform_slice`): a slice's rows go
from one step to the next in memory instead of through the object store.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from fitray.batch import extract, reference, transform
from fitray.batch.summary import SliceResult
from fitray.clients.mongo import mongo_client
from fitray.clients.ray import ray_running
from fitray.clients.s3 import s3_client
from fitray.config import Settings, WarehouseBackend
from fitray.staging import open_staging
from fitray.warehouse import LoadRecord, LoadResult, open_warehouse

__all__ = [
    "EXTRACT_SOCKET_TIMEOUT_S",
    "latest_stored_at",
    "load",
    "new_documents",
    "new_load_id",
    "plan_slices",
    "purge_staged",
    "reference_csv",
    "transform_slice",
    "watermark",
]

# A collection scan on a store without the stored_at index can take minutes before its first
# batch; the extract must not be cut off by the stream's 30 s socket timeout.
EXTRACT_SOCKET_TIMEOUT_S = 1800.0


def new_load_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def reference_csv(settings: Settings) -> pa.Table:
    return reference.read_reference(
        s3_client(settings), settings.s3_bucket, settings.reference_key, settings.exercises_file
    )


def watermark(settings: Settings, backend: WarehouseBackend) -> datetime | None:
    return open_warehouse(settings, backend).read_watermark()


def new_documents(settings: Settings, watermark: datetime | None) -> pa.Table:
    """Documents stored since the watermark less the overlap (see :mod:`fitray.batch.extract`);
    stamps up to the overlap ahead of this clock are read now, later ones by a later run."""
    overlap = timedelta(seconds=settings.batch_overlap_s)
    since = None if watermark is None else watermark - overlap
    client = mongo_client(settings, timeout_s=10, socket_timeout_s=EXTRACT_SOCKET_TIMEOUT_S)
    try:
        collection = client[settings.mongo_database][settings.stream_collection]
        return extract.extract_new_documents(
            collection, since, until=datetime.now(UTC) + overlap, read_by=settings.batch_read
        )
    finally:
        client.close()


def transform_slice(
    settings: Settings,
    documents: pa.Table,
    exercises: pa.Table,
    load_id: str,
    part: int,
    extracted_at: datetime,
) -> SliceResult:
    """Merge with CSV, derived metrics and stage for one slice, each step timed."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    merged = transform.merge_with_reference(documents, exercises)
    seconds["merge with CSV"], started = time.perf_counter() - started, time.perf_counter()
    rows = transform.to_warehouse_rows(merged, load_id, extracted_at)
    seconds["derived metrics"], started = time.perf_counter() - started, time.perf_counter()
    file = open_staging(settings).write(rows, load_id, part)
    seconds["stage"] = time.perf_counter() - started
    return SliceResult(file, rows.num_rows, seconds, _ray_node_id())


def load(settings: Settings, record: LoadRecord, backend: WarehouseBackend) -> LoadResult:
    return open_warehouse(settings, backend).load(open_staging(settings), record)


def purge_staged(settings: Settings, load_id: str) -> None:
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


def _ray_node_id() -> str | None:
    if not ray_running():
        return None
    import ray

    return str(ray.get_runtime_context().get_node_id())
