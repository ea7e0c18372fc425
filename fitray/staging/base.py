"""The object-store interface staging writes through: three calls, one class per backend."""

from __future__ import annotations

from typing import Protocol

from fitray.exceptions import TransientError

__all__ = ["ObjectStore", "StagingError"]


class StagingError(TransientError):
    """A staged file could not be written, read or removed (disk full, store unreachable)."""


class ObjectStore(Protocol):
    """Objects named by a relative name under a root ``url`` (a directory or s3://bucket/prefix)."""

    url: str

    def put(self, name: str, data: bytes) -> str:
        """Store ``data`` as ``name``; returns the object's full URL (or local path)."""
        ...

    def get(self, url: str) -> bytes:
        """The bytes of an object by the URL :meth:`put` returned."""
        ...

    def delete_prefix(self, name_prefix: str) -> None:
        """Remove every object whose name starts with ``name_prefix``."""
        ...
