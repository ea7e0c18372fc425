"""The S3 client: keys from settings, or -- when they are empty -- boto3's own chain (an
instance profile on EC2), so a cluster on AWS needs no keys in its environment."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from fitray.clients.s3 import s3_client
from fitray.config import Settings


def test_keys_from_settings_when_set() -> None:
    settings = Settings(
        aws_access_key_id=SecretStr("AKIA-set"), aws_secret_access_key=SecretStr("s")
    )
    credentials = s3_client(settings)._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKIA-set", "s")


def test_empty_keys_leave_credentials_to_boto3s_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-from-the-chain")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    settings = Settings(aws_access_key_id=SecretStr(""), aws_secret_access_key=SecretStr(""))
    credentials = s3_client(settings)._request_signer._credentials
    assert credentials.access_key == "AKIA-from-the-chain"
