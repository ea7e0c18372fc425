"""The exercise metadata CSV as the batch reads it: from the object store, validated.

The CSV is the batch's reference data: it lives in the object store (uploaded there from the
local ``exercises_csv`` the first time), so every Ray worker of a cluster reads the same copy;
:func:`fitray.exercises.parse_exercises` validates and deduplicates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from fitray.exercises import parse_exercises

__all__ = ["read_reference"]


def read_reference(s3: Any, bucket: str, key: str, local_copy: Path) -> pa.Table:
    """The validated reference table; uploads ``local_copy`` first if the key is absent."""
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.upload_file(str(local_copy), bucket, key)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return parse_exercises(body, source=f"s3://{bucket}/{key}")
