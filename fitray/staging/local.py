"""Staging on the local disk: the embedded default (a directory under the stack's data)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fitray.staging.base import StagingError

__all__ = ["LocalStore"]


class LocalStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def put(self, name: str, data: bytes) -> str:
        target = self.root / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            raise StagingError(f"staging {target} failed: {exc.strerror or exc}") from exc
        return str(target)

    def get(self, url: str) -> bytes:
        try:
            return Path(url).read_bytes()
        except OSError as exc:
            raise StagingError(f"reading staged {url} failed: {exc.strerror or exc}") from exc

    def delete_prefix(self, name_prefix: str) -> None:
        # Staging names are "<load_id>/part-N.parquet": a load's prefix is its directory.
        shutil.rmtree(self.root / name_prefix.rstrip("/"), ignore_errors=True)
