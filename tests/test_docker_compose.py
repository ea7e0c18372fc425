"""docker-compose.yml cannot run here (no Docker engine); check it matches the local stack."""

from __future__ import annotations

import json
import re
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
    "ray-worker": "ray-worker",
    "prefect": "prefect",
    "prometheus": "prometheus",
}
# reached by the head over the compose network only: nothing to publish on the host
UNPUBLISHED = {"ray-worker"}
GRAFANA = PROJECT_ROOT / "deploy" / "grafana"


def published_ports(service: str) -> set[int]:
    return {int(str(p).split(":")[0]) for p in COMPOSE["services"][service].get("ports", [])}


def test_every_local_server_has_a_compose_counterpart() -> None:
    assert {cls.name for cls in SERVICE_TYPES} == set(COUNTERPART)
    assert set(COUNTERPART.values()) <= set(COMPOSE["services"])


@pytest.mark.parametrize("local", sorted(set(COUNTERPART) - UNPUBLISHED))
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
    binds = {u for u in used if u.startswith("./")}  # files of this repository
    assert used - binds <= set(COMPOSE["volumes"])
    assert all((PROJECT_ROOT / b).exists() for b in binds), binds
    assert COMPOSE["services"]["kafka"]["image"].endswith(Settings(_env_file=None).kafka_version)
    assert Path(PROJECT_ROOT / "Dockerfile").exists()


def test_second_ray_node_joins_the_head_only_when_asked() -> None:
    worker = COMPOSE["services"]["ray-worker"]
    assert worker["profiles"] == ["multinode"]  # off by default, as in the local stack
    assert "--address=ray-head:6379" in worker["command"]


def mounts(service: str) -> dict[str, str]:
    """Container path -> host path (or volume) of a service's mounts."""
    pairs = (v.split(":")[:2] for v in COMPOSE["services"][service].get("volumes", []))
    return {target: source for source, target in pairs}


def test_prometheus_reads_the_discovery_file_the_ray_head_writes() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (sd_file,) = config["scrape_configs"][0]["file_sd_configs"][0]["files"]
    shared = mounts("ray-head")["/tmp/ray"]
    assert sd_file == "/tmp/ray/prom_metrics_service_discovery.json"
    assert mounts("prometheus")["/tmp/ray"] == shared
    assert mounts("prometheus")["/etc/prometheus/prometheus.yml"].startswith("./deploy/prometheus")
    head_env = COMPOSE["services"]["ray-head"]["environment"]
    assert head_env["RAY_PROMETHEUS_HOST"] == "http://prometheus:9090"
    assert 9090 in published_ports("prometheus")


def test_grafana_is_provisioned_with_the_fitray_dashboard_and_its_datasources() -> None:
    grafana = mounts("grafana")
    assert (
        PROJECT_ROOT / grafana["/etc/grafana/provisioning"]
    ).resolve() == GRAFANA / "provisioning"
    assert (
        PROJECT_ROOT / grafana["/var/lib/grafana/dashboards"]
    ).resolve() == GRAFANA / "dashboards"
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "fitray.yaml").read_text())
    uids = {s["uid"]: s for s in sources["datasources"]}
    dashboard = json.loads((GRAFANA / "dashboards" / "fitray.json").read_text())
    used = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert used <= set(uids), "a panel queries a datasource that is not provisioned"
    assert re.match(r"http://prometheus:\d+", uids["prometheus"]["url"])
    pg = COMPOSE["services"]["postgres"]["environment"]
    assert uids["warehouse"]["jsonData"]["database"] == pg["POSTGRES_DB"]
    assert uids["warehouse"]["secureJsonData"]["password"] == pg["POSTGRES_PASSWORD"]
