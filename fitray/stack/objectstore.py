"""The S3-compatible object store: moto in server mode.

MinIO's server is not a Go module we can ``go install`` at a pinned release in reasonable time
here (and is AGPL); moto's server speaks the S3 REST API from the same PyPI install as the rest
of fitray, starts in a second and is validated by botocore's own service model. Its state lives
in memory: objects do not survive ``fitray stack down`` (staging files are transient anyway).
"""

from __future__ import annotations

import sys
import uuid

from fitray.clients.s3 import s3_client
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError

__all__ = ["ObjectStoreService"]


class ObjectStoreService(Service):
    name = "s3"
    startup_timeout_s = 30.0
    port_setting = "FITRAY_S3_ENDPOINT_URL"

    @property
    def ports(self) -> list[int]:
        return [self.settings.s3_port]

    @property
    def where(self) -> str:
        return f"{self.settings.s3_endpoint_url} (bucket {self.settings.s3_bucket})"

    def start(self) -> None:
        self.files.spawn(
            [
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.settings.s3_port),
            ]
        )

    def check(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        client = s3_client(self.settings)
        bucket, key, body = self.settings.s3_bucket, f"_health/{uuid.uuid4().hex}", b"fitray"
        try:
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key=key, Body=body)
            got = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            client.delete_object(Bucket=bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StackError(f"object store not usable: {exc}") from None
        if got != body:
            raise StackError("object store returned different bytes than were put")
        return f"put/get ok in bucket {bucket}"
