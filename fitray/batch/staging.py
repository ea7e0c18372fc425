"""Parquet staging: one directory of part files per load, local or on S3.

``staging_url`` is a local directory (the embedded default) or ``s3://bucket/prefix`` (the
stack's S3-compatible server, or AWS itself — what Redshift's COPY reads). Files of a load live
under ``<url>/<load_id>/`` so a load's files can be read, copied or purged as one prefix.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from fitray.batch.exceptions import StagingError
from fitray.schema import WAREHOUSE_ROW_SCHEMA

__all__ = ["Staging", "open_staging"]


@dataclass(frozen=True)
class Staging:
    """Where staged Parquet goes; ``s3`` is a boto3 client when ``url`` is ``s3://``."""

    url: str
    s3: Any = None

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def prefix(self, load_id: str) -> str:
        return f"{self.url.rstrip('/')}/{load_id}/"

    def write(self, table: pa.Table, load_id: str, part: int) -> str:
        """Write one part file; returns its URL (or local path)."""
        target = f"{self.prefix(load_id)}part-{part:05d}.parquet"
        try:
            if self.is_s3:
                buffer = io.BytesIO()
                pq.write_table(table, buffer, compression="zstd")
                bucket, key = _split(target)
                self.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
            else:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, target, compression="zstd")
        except (OSError, pa.ArrowException, *_boto_errors()) as exc:
            raise StagingError(f"staging {target} failed: {exc}") from exc
        return target

    def read(self, files: list[str]) -> pa.Table:
        """All part files as one table of :data:`WAREHOUSE_ROW_SCHEMA`."""
        tables = [self._read_one(f) for f in files]
        if not tables:
            return WAREHOUSE_ROW_SCHEMA.empty_table()
        return pa.concat_tables(tables).cast(WAREHOUSE_ROW_SCHEMA)

    def _read_one(self, target: str) -> pa.Table:
        try:
            if self.is_s3:
                bucket, key = _split(target)
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                return pq.read_table(io.BytesIO(body))
            return pq.read_table(target)
        except (OSError, pa.ArrowException, *_boto_errors()) as exc:
            raise StagingError(f"reading staged {target} failed: {exc}") from exc

    def purge(self, load_id: str) -> None:
        """Remove every staged file of a load (after its commit)."""
        prefix = self.prefix(load_id)
        if not self.is_s3:
            shutil.rmtree(prefix, ignore_errors=True)
            return
        bucket, key = _split(prefix)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        for page in pages:
            for item in page.get("Contents", []):
                self.s3.delete_object(Bucket=bucket, Key=item["Key"])


def open_staging(settings: Any) -> Staging:
    url = settings.staging_location
    if not url.startswith("s3://"):
        return Staging(str(Path(url).expanduser().resolve()))
    from fitray.stack.objectstore import s3_client

    return Staging(url, s3_client(settings))


def _split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.lstrip("/")


def _boto_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
