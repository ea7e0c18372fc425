"""Two Ray nodes on this machine: the stack's head plus the opt-in ``ray-worker`` node, which
these tests start and stop themselves (and may SIGKILL), always leaving the head healthy."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import ray
from ray.util.state import get_actor

from fitray.clients.ray import connect_ray
from fitray.config import Settings
from fitray.stack import Stack
from fitray.stack.ray import RayHeadService
from fitray.stack.ray_worker import RayWorkerService
from tests.stream.conftest import stream_env, wait_for
from tests.warehouse.conftest import batch_settings

__all__ = ["TwoNodes", "batch_settings", "node_of", "stream_env", "two_nodes"]

NODE_DEATH_S = 90  # the GCS notices a killed raylet by missed health checks (~30 s here)


@dataclass
class TwoNodes:
    head: str  # node ids, hex
    worker: str
    service: RayWorkerService

    def kill_worker_raylet(self) -> int:
        """SIGKILL the second node's raylet (not a clean stop); returns its pid."""
        starter = self.service.files.pid()
        assert starter is not None, "the ray-worker node is not running"
        (raylet,) = [pid for pid, name in children(starter) if name == "raylet"]
        os.kill(raylet, signal.SIGKILL)
        return raylet

    def wait_worker_dead(self) -> None:
        wait_for(lambda: not node_alive(self.worker), NODE_DEATH_S, "the GCS to mark it dead")


def children(parent: int) -> list[tuple[int, str]]:
    """(pid, command name) of ``parent``'s direct children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        name, _, rest = text[text.index("(") + 1 :].rpartition(")")
        if int(rest.split()[1]) == parent:
            found.append((int(stat.parent.name), name))
    return found


@ray.remote(num_cpus=0)
def _where() -> str:
    return str(ray.get_runtime_context().get_node_id())


def spread_reaches(node_id: str) -> bool:
    """Whether SPREAD tasks from this driver land on ``node_id``: the GCS lists a node before
    the head's scheduler has it in its view, and until then nothing is placed there."""
    probes = [_where.options(scheduling_strategy="SPREAD").remote() for _ in range(4)]
    return node_id in ray.get(probes, timeout=30)


def node_of(actor: Any) -> str | None:
    """The node an actor lives on (or last lived on), from Ray's state API."""
    state = get_actor(actor._actor_id.hex())
    return state.node_id if state else None


def node_alive(node_id: str) -> bool:
    return any(n["NodeID"] == node_id and n["Alive"] for n in ray.nodes())


@pytest.fixture
def two_nodes(stack: Settings) -> Iterator[TwoNodes]:
    """The head plus a second node with one CPU; stopped (and gone from the cluster) after."""
    settings = stack.model_copy(update={"ray_worker_num_cpus": 1})
    worker = Stack(settings, ["ray-worker"])
    service = worker.services[0]
    assert isinstance(service, RayWorkerService)
    worker.up()
    wait_for(lambda: service.node() is not None, 30, "the GCS to list the second node")
    node = service.node()
    assert node is not None
    connect_ray(settings)
    head = ray.get_runtime_context().get_node_id()  # a driver on this host joins the head
    nodes = TwoNodes(head=head, worker=node["nodeId"], service=service)
    try:
        wait_for(lambda: node_alive(nodes.worker), 30, "the driver to see the second node")
        wait_for(lambda: spread_reaches(nodes.worker), 30, "the head to schedule on the worker")
        yield nodes
    finally:
        worker.down()
        nodes.wait_worker_dead()
        RayHeadService(stack).check()  # raises if the head did not survive
