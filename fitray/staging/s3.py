"""Staging on S3 (or an S3-compatible server): what Redshift's COPY reads from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from fitray.staging.base import StagingError

__all__ = ["S3Store"]


class S3Store:
    """Objects under ``s3://bucket/prefix``; ``client`` is a boto3 S3 client."""

    def __init__(self, url: str, client: Any) -> None:
        self.url = url.rstrip("/")
        self.bucket, self.prefix = _split(self.url + "/")
        self._client = client

    def put(self, name: str, data: bytes) -> str:
        key = self.prefix + name
        with _errors(f"staging s3://{self.bucket}/{key}"):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def get(self, url: str) -> bytes:
        bucket, key = _split(url)
        with _errors(f"reading staged {url}"):
            return bytes(self._client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def delete_prefix(self, name_prefix: str) -> None:
        with _errors(f"purging s3://{self.bucket}/{self.prefix}{name_prefix}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + name_prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    self._client.delete_object(Bucket=self.bucket, Key=item["Key"])


def _split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.lstrip("/")


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Maps botocore's errors onto :class:`StagingError`, naming what failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise StagingError(f"{what} failed: {exc}") from exc
