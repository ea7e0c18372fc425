"""The QuickSight client: the region checked first, credentials from boto3's own chain.

fitray's ``FITRAY_AWS_*`` settings are for the object store (their defaults are the local S3
server's keys), so QuickSight uses boto3's chain instead: ``--profile``/``AWS_PROFILE``, the
``AWS_*`` variables, or an attached IAM role.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from fitray.quicksight.exceptions import (
    AwsCredentialsError,
    QuickSightUnavailableError,
    map_aws_error,
)

__all__ = ["check_region", "make_client"]

_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=10, read_timeout=60)


def check_region(region: str) -> str:
    """The AWS partition of ``region`` if QuickSight is offered there, else a one-line error."""
    session = botocore.session.get_session()
    offered: list[str] = []
    for partition in session.get_available_partitions():
        regions = session.get_available_regions("quicksight", partition)
        if region in regions:
            return str(partition)
        offered += regions
    raise QuickSightUnavailableError(
        f"QuickSight is not offered in region {region!r} (per botocore {botocore.__version__}); "
        f"use one of {', '.join(sorted(offered))}"
    )


def make_client(region: str, profile: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 QuickSight client; missing credentials are an error now, not at the first call."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        if session.get_credentials() is None:
            raise AwsCredentialsError(
                "no AWS credentials found: set AWS_PROFILE (or pass --profile), or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached"
            )
        return session.client("quicksight", endpoint_url=endpoint_url, config=_CONFIG)
    except BotoCoreError as exc:
        raise map_aws_error(exc, "CreateClient", region) from exc
