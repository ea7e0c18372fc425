"""Staged files between the batch's transform and the warehouse's bulk load.

``staging_url`` is a local directory (the embedded default) or ``s3://bucket/prefix`` (the
stack's S3-compatible server, or AWS itself -- what Redshift's COPY reads). Both sit behind
:class:`~fitray.staging.base.ObjectStore`; :class:`Staging` encodes Parquet on top.
"""

from __future__ import annotations

from fitray.config import Settings
from fitray.staging.base import ObjectStore, StagingError
from fitray.staging.local import LocalStore
from fitray.staging.parquet import Staging
from fitray.staging.s3 import S3Store

__all__ = ["LocalStore", "ObjectStore", "S3Store", "Staging", "StagingError", "open_staging"]


def open_staging(settings: Settings) -> Staging:
    url = settings.staging_location
    if not url.startswith("s3://"):
        return Staging(LocalStore(url))
    from fitray.clients.s3 import s3_client

    return Staging(S3Store(url, s3_client(settings)))
