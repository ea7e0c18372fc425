"""Opt-in (RAY_FAKE_CLUSTER=1): the EC2 config converted to Ray's fake multi-node provider, and
Ray's own autoscaler scheduler asked what it would launch -- node types and bounds as Ray
reads them, without EC2. Only the scheduling decision runs: the fake provider starts its nodes
against a GCS on port 6379, which on our machines is the local stack's head."""

from __future__ import annotations

import copy
import os
from collections import Counter
from typing import Any

import pytest
import yaml

from fitray.config import PROJECT_ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("RAY_FAKE_CLUSTER") != "1",
    reason="opt-in: set RAY_FAKE_CLUSTER=1 to run Ray's autoscaler on the config converted "
    "to its fake multi-node provider",
)
CONFIG = yaml.safe_load((PROJECT_ROOT / "deploy" / "ray" / "cluster-aws.yaml").read_text())
GIB = 1024**3
# what the AWS provider would look up with DescribeInstanceTypes (not reachable offline)
INSTANCE_RESOURCES = {
    "m6i.xlarge": {"CPU": 4, "memory": 16 * GIB},
    "c6i.large": {"CPU": 2, "memory": 4 * GIB},
    "r6i.xlarge": {"CPU": 4, "memory": 32 * GIB},
}


def fake_config() -> dict[str, Any]:
    """The launcher config with the fake provider and each instance type's resources."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(CONFIG))  # Ray's defaults, as `ray up` fills them
    config["provider"] = {"type": "fake_multinode"}  # (this wheel lacks its defaults file)
    config.pop("docker")
    for node_type in config["available_node_types"].values():
        node_type["resources"] = dict(INSTANCE_RESOURCES[node_type["node_config"]["InstanceType"]])
        node_type["node_config"] = {}
    validate_config(config)
    return config


def launches(config: dict[str, Any], demands: list[dict[str, Any]]) -> Counter[str]:
    """Nodes by type that Ray's scheduler launches for ``demands``, round after round."""
    from ray.autoscaler._private.fake_multi_node.node_provider import FakeMultiNodeProvider
    from ray.autoscaler._private.node_provider_availability_tracker import (
        NodeAvailabilitySummary,
    )
    from ray.autoscaler._private.resource_demand_scheduler import ResourceDemandScheduler

    provider = FakeMultiNodeProvider(config["provider"], config["cluster_name"])
    scheduler = ResourceDemandScheduler(
        provider, config["available_node_types"], config["max_workers"],
        config["head_node_type"], config["upscaling_speed"],
    )  # fmt: skip
    launched: Counter[str] = Counter()
    for _ in range(10):
        new, _ = scheduler.get_nodes_to_launch(
            provider.non_terminated_nodes({}), dict(launched), demands, {}, [], {}, [],
            NodeAvailabilitySummary(node_availabilities={}),
        )  # fmt: skip
        if not new:
            return launched
        launched.update(new)
    return launched


def test_an_idle_cluster_keeps_its_minimum_workers() -> None:
    assert launches(fake_config(), []) == Counter({"ray.worker.enrich": 1})


def test_a_large_demand_stops_at_every_bound() -> None:
    config = fake_config()
    launched = launches(config, [{"CPU": 1}] * 200 + [{"CPU": 1, "memory": 20 * GIB}] * 10)
    types = config["available_node_types"]
    assert sum(launched.values()) == config["max_workers"]
    for name, count in launched.items():
        assert count <= types[name]["max_workers"], name
    assert launched["ray.worker.batch"] == types["ray.worker.batch"]["max_workers"]
    assert config["head_node_type"] not in launched
