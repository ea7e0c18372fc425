"""Staging through the S3-compatible server: what Redshift's COPY reads in production."""

from __future__ import annotations

from typing import Any

from fitray.clients.s3 import s3_client
from flows.etl import run_batch_flow as run_batch
from tests.warehouse.conftest import BASE_TIME, make_doc, query, seed


def staged_keys(settings: Any, bucket: str, prefix: str) -> list[str]:
    listing = s3_client(settings).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_load_staged_on_s3_then_purged(backend: tuple[str, Any], mongo_db: Any) -> None:
    name, settings = backend
    settings = settings.model_copy(update={"staging_url": f"s3://{settings.s3_bucket}/staging"})
    seed(mongo_db, [make_doc(f"s3-{i:03d}", BASE_TIME) for i in range(90)])
    summary = run_batch(settings, name)
    assert (summary.documents_read, summary.rows_inserted) == (90, 90)
    assert all(f.startswith(f"s3://{settings.s3_bucket}/staging/") for f in summary.staging_files)
    assert query(name, settings, "SELECT count(*) FROM exercises_enriched") == [(90,)]
    assert staged_keys(settings, settings.s3_bucket, f"staging/{summary.load_id}/") == []


def test_staged_files_are_kept_on_s3_when_asked(backend: tuple[str, Any], mongo_db: Any) -> None:
    name, settings = backend
    settings = settings.model_copy(
        update={"staging_url": f"s3://{settings.s3_bucket}/staging", "keep_staged_files": True}
    )
    seed(mongo_db, [make_doc(f"keep-{i:03d}", BASE_TIME) for i in range(10)])
    summary = run_batch(settings, name)
    keys = staged_keys(settings, settings.s3_bucket, f"staging/{summary.load_id}/")
    assert len(keys) == len(summary.staging_files) >= 1
    assert all(key.endswith(".parquet") for key in keys)
