"""docker-compose.yml cannot run here (no Docker engine); check it matches the local stack."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from fitray.config import PROJECT_ROOT, Settings
from fitray.stack import SERVICE_TYPES

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
# local-stack service -> compose service playing the same part
COUNTERPART = {
    "kafka": "kafka",
    "ferretdb": "mongo",
    "postgres": "postgres",
    "s3": "minio",
    "calorie-api": "calorie-api",
    "ray": "ray-head",
    "prefect": "prefect",
}


def published_ports(service: str) -> set[int]:
    return {int(str(p).split(":")[0]) for p in COMPOSE["services"][service].get("ports", [])}


def test_every_local_server_has_a_compose_counterpart() -> None:
    assert {cls.name for cls in SERVICE_TYPES} == set(COUNTERPART)
    assert set(COUNTERPART.values()) <= set(COMPOSE["services"])


@pytest.mark.parametrize("local", sorted(COUNTERPART))
def test_compose_publishes_the_ports_the_defaults_use(local: str) -> None:
    settings = Settings(_env_file=None)
    service = next(cls for cls in SERVICE_TYPES if cls.name == local)(settings)
    main_port = service.ports[0]
    assert main_port in published_ports(COUNTERPART[local])


def test_compose_credentials_match_the_defaults() -> None:
    settings = Settings(_env_file=None)
    pg = COMPOSE["services"]["postgres"]["environment"]
    assert pg["POSTGRES_USER"] == settings.postgres_user
    assert pg["POSTGRES_PASSWORD"] == settings.postgres_password.get_secret_value()
    minio = COMPOSE["services"]["minio"]["environment"]
    assert minio["MINIO_ROOT_USER"] == settings.aws_access_key_id.get_secret_value()
    assert urlsplit(settings.s3_endpoint_url or "").port in published_ports("minio")


def test_volumes_declared_and_images_pinned_where_we_pin() -> None:
    used = {v.split(":")[0] for s in COMPOSE["services"].values() for v in s.get("volumes", [])}
    assert used <= set(COMPOSE["volumes"])
    assert COMPOSE["services"]["kafka"]["image"].endswith(Settings(_env_file=None).kafka_version)
    assert Path(PROJECT_ROOT / "Dockerfile").exists()
