"""A second Ray node on this machine (``ray start --address``), to run fitray on two nodes.

Off by default: ``fitray stack up ray-worker`` starts it, next to the head of
:mod:`fitray.stack.ray`. Two nodes on one host collide on Ray's default ports (dashboard agent
52365, the worker port range 10002-19999, ...), so this node takes every port it opens from
``FITRAY_RAY_WORKER_PORT`` on; the head keeps Ray's defaults and random ports, which the
kernel draws from 32768 and up. It joins in the head's authentication mode with the same
token (``~/.ray/auth_token`` on this machine) and offers ``FITRAY_RAY_WORKER_NUM_CPUS`` CPUs
of the same two cores: it shows placement and failover across nodes, not more compute.
"""

from __future__ import annotations

from typing import Any

from fitray.config import split_host_port
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.ray import alive_nodes, ray_cli

__all__ = ["WORKER_PORT_OFFSETS", "RayWorkerService"]

# FITRAY_RAY_WORKER_PORT + offset, for each port `ray start` would otherwise choose itself
WORKER_PORT_OFFSETS = {
    "node-manager-port": 0,
    "object-manager-port": 1,
    "runtime-env-agent-port": 2,
    "dashboard-agent-grpc-port": 3,
    "dashboard-agent-listen-port": 4,
    "metrics-export-port": 5,
    "min-worker-port": 100,
    "max-worker-port": 299,
}


class RayWorkerService(Service):
    name = "ray-worker"
    startup_timeout_s = 90.0
    port_setting = "FITRAY_RAY_WORKER_PORT"

    @property
    def ports(self) -> list[int]:
        base = self.settings.ray_worker_port
        return [base + offset for offset in WORKER_PORT_OFFSETS.values() if offset < 100]

    @property
    def where(self) -> str:
        s = self.settings
        return f"node manager 127.0.0.1:{s.ray_worker_port}, joined to {s.ray_address}"

    def start(self) -> None:
        s = self.settings
        host, port = split_host_port(s.ray_address, 6379)
        ports = [f"--{flag}={s.ray_worker_port + off}" for flag, off in WORKER_PORT_OFFSETS.items()]
        self.files.spawn(
            [
                ray_cli(),
                "start",
                f"--address={host}:{port}",
                "--block",
                "--node-ip-address=127.0.0.1",
                f"--num-cpus={s.ray_worker_num_cpus}",
                *ports,
                "--disable-usage-stats",
            ],
            env={"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": s.ray_auth_mode},
        )

    def stop(self) -> bool:
        # like the head: the blocking `ray start` outlives SIGTERM, its raylet does not
        return self.files.stop(timeout_s=5.0)

    def check(self) -> str:
        if self.files.pid() is None:  # the dashboard may still list a node just stopped
            raise StackError(
                f"{self.name} is not running; start it with `fitray stack up ray-worker`"
            )
        node = self.node()
        if node is None:
            raise StackError(
                f"no live Ray node with node manager port {self.settings.ray_worker_port} "
                f"in the cluster at {self.settings.ray_address}"
            )
        cpus = node.get("resourcesTotal", {}).get("CPU", 0)
        return f"node {node['nodeId'][:12]} alive in the cluster ({cpus:g} CPU)"

    def node(self) -> dict[str, Any] | None:
        """This node's raylet record, if it is alive in the head's cluster."""
        port = self.settings.ray_worker_port
        nodes = alive_nodes(self.settings)
        return next((n for n in nodes if n.get("nodeManagerPort") == port), None)
