"""The EC2 cluster launcher config is valid for the Ray we depend on (no cluster is started)."""

from __future__ import annotations

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from fitray.config import PROJECT_ROOT

CONFIG = yaml.safe_load((PROJECT_ROOT / "deploy" / "ray" / "cluster-aws.yaml").read_text())


def test_config_passes_rays_own_schema() -> None:
    validate_config(prepare_config(CONFIG))  # `ray up` does the same; raises on violations


def test_every_node_installs_fitray_and_the_head_exists() -> None:
    assert CONFIG["head_node_type"] in CONFIG["available_node_types"]
    assert any("pip install -e /home/ubuntu/fitray" in cmd for cmd in CONFIG["setup_commands"])
    assert ".stack" in CONFIG["rsync_exclude"]
