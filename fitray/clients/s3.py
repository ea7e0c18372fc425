"""The S3 client: AWS itself, or any S3-compatible endpoint (the local stack's moto server)."""

from __future__ import annotations

from typing import Any

from fitray.config import Settings

__all__ = ["s3_client"]


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client with short timeouts and a single attempt: callers own their retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.aws_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
