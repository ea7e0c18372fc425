"""Parquet staging: one directory of part files per load, in an object store.

Files of a load live under ``<url>/<load_id>/`` so a load's files can be read, copied (Redshift
COPY takes the prefix) or purged as one. zstd: small files, cheap to decode.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from fitray.schema import WAREHOUSE_ROW_SCHEMA
from fitray.staging.base import ObjectStore, StagingError

__all__ = ["Staging"]


class Staging:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @property
    def url(self) -> str:
        return self.store.url

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def prefix(self, load_id: str) -> str:
        """Where a load's files are: what Redshift's COPY reads."""
        return f"{self.url}/{load_id}/"

    def write(self, table: pa.Table, load_id: str, part: int) -> str:
        """Write one part file; returns its URL (or local path)."""
        buffer = io.BytesIO()
        try:
            pq.write_table(table, buffer, compression="zstd")
        except pa.ArrowException as exc:
            raise StagingError(f"encoding part {part} of load {load_id} failed: {exc}") from exc
        return self.store.put(f"{load_id}/part-{part:05d}.parquet", buffer.getvalue())

    def read(self, files: list[str]) -> pa.Table:
        """All part files as one table of :data:`WAREHOUSE_ROW_SCHEMA`."""
        tables = [self._decode(url, self.store.get(url)) for url in files]
        if not tables:
            return WAREHOUSE_ROW_SCHEMA.empty_table()
        return pa.concat_tables(tables).cast(WAREHOUSE_ROW_SCHEMA)

    def purge(self, load_id: str) -> None:
        """Remove every staged file of a load (after its commit)."""
        self.store.delete_prefix(f"{load_id}/")

    @staticmethod
    def _decode(url: str, data: bytes) -> pa.Table:
        try:
            return pq.read_table(io.BytesIO(data))
        except pa.ArrowException as exc:
            raise StagingError(f"staged file {url} is not readable Parquet: {exc}") from exc
