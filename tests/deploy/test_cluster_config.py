"""The EC2 cluster launcher config is valid for the Ray we depend on (no cluster is started)."""

from __future__ import annotations

import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from fitray.config import PROJECT_ROOT

CONFIG = yaml.safe_load((PROJECT_ROOT / "deploy" / "ray" / "cluster-aws.yaml").read_text())


def test_config_passes_rays_own_schema() -> None:
    validate_config(prepare_config(CONFIG))  # `ray up` does the same; raises on violations


def test_every_node_installs_the_same_checkout_with_the_ray_we_pin() -> None:
    assert CONFIG["head_node_type"] in CONFIG["available_node_types"]
    assert CONFIG["file_mounts"] == {"/home/ubuntu/fitray": "."}  # synced to every node
    assert any("pip install -q /home/ubuntu/fitray" in cmd for cmd in CONFIG["setup_commands"])
    assert {".stack", ".venv"} <= set(CONFIG["rsync_exclude"])
    assert CONFIG["docker"]["image"].startswith(f"rayproject/ray:{ray.__version__}-py311")


def test_dashboard_is_reached_by_port_forwarding_not_an_open_port() -> None:
    (head_start,) = [c for c in CONFIG["head_start_ray_commands"] if "--head" in c]
    assert "--dashboard-host=127.0.0.1" in head_start
    assert "security_group" not in str(CONFIG["provider"]).lower()  # no extra inbound rule


def test_every_node_type_has_the_instance_profile_and_bounds() -> None:
    types = CONFIG["available_node_types"]
    for name, node_type in types.items():
        assert node_type["node_config"]["IamInstanceProfile"]["Name"] == "fitray-ray-node", name
    workers = [t for n, t in types.items() if n != CONFIG["head_node_type"]]
    assert all(0 <= t["min_workers"] <= t["max_workers"] for t in workers)
    assert sum(t["max_workers"] for t in workers) <= CONFIG["max_workers"]
