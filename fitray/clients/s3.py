"""The S3 client: AWS itself, or any S3-compatible endpoint (the local stack's moto server)."""

from __future__ import annotations

from typing import Any

from fitray.config import Settings

__all__ = ["s3_client"]


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client with short timeouts and a single attempt: callers own their retries.

    Keys from settings when set; empty keys leave credentials to boto3's own chain (an EC2
    instance profile, the environment, ~/.aws), as on a Ray cluster on AWS."""
    import boto3
    from botocore.config import Config

    access, secret = (k.get_secret_value() for k in (settings.aws_access_key_id,
                                                      settings.aws_secret_access_key))  # fmt: skip
    keys = {"aws_access_key_id": access, "aws_secret_access_key": secret} if access else {}
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
        **keys,
    )
