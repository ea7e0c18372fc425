"""Failures as a user meets them: the real ``fitray`` command in a subprocess, its stderr read
line by line while it runs, servers switched off through a proxy (the server itself keeps
running for every other test)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.stream.conftest import StreamEnv, stream_env, wait_for

__all__ = ["stream_env"]  # the stream tests' isolated topics, group and database

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Command:
    """A running ``fitray`` command; ``lines`` fills as it writes to stderr."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_for_line(self, text: str, timeout_s: float) -> None:
        wait_for(lambda: any(text in line for line in self.lines), timeout_s, repr(text))

    def finish(self, timeout_s: float = 120) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once it exits (a guard against a hang, not a timing)."""
        stdout = self.process.stdout.read() if self.process.stdout else ""
        code = self.process.wait(timeout_s)
        self._reader.join(10)
        return code, stdout, "\n".join(self.lines)

    def start_reading(self) -> None:
        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line.rstrip("\n"))

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()


@pytest.fixture
def fitray() -> Iterator[Callable[..., Command]]:
    """Factory: ``fitray("stream", "run", env={...})`` starts the CLI; all killed after."""
    started: list[Command] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Command:
        full_env = {**os.environ, "COLUMNS": "250", **(env or {})}
        process = subprocess.Popen(
            [sys.executable, "-m", "fitray", *args], cwd=REPO, env=full_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        command = Command(process)
        command.start_reading()
        started.append(command)
        return command

    yield start
    for command in started:
        if command.process.poll() is None:
            command.process.kill()
        command.process.wait(30)
        for pipe in (command.process.stdout, command.process.stderr):
            if pipe is not None:
                pipe.close()


def stream_env_vars(env: StreamEnv, **extra: Any) -> dict[str, str]:
    """The variables that point a subprocess at this test's own topics, group and database."""
    return {
        "FITRAY_KAFKA_ENRICHED_TOPIC": env.topic,
        "FITRAY_KAFKA_DEAD_LETTER_TOPIC": env.dead_letter_topic,
        "FITRAY_STREAM_CONSUMER_GROUP": env.group_id,
        "FITRAY_MONGO_DATABASE": env.db.name,
        "FITRAY_CALORIE_RATE_LIMIT_PER_S": "5000",
        "FITRAY_CALORIE_RATE_BURST": "500",
        **{k: str(v) for k, v in extra.items()},
    }


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@dataclass
class PrivateRayHead:
    """A Ray head of this test's own (every port its own), so the test may kill it."""

    temp_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports['port']}"

    def start(self) -> None:
        ray = str(Path(sys.executable).parent / "ray")
        flags = [f"--{name.replace('_', '-')}={port}" for name, port in self.ports.items()]
        workers = ",".join(str(free_port()) for _ in range(24))  # ports known to be free
        argv = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", *flags,
                f"--worker-port-list={workers}", "--num-cpus=1", "--include-dashboard=false",
                f"--temp-dir={self.temp_dir}", "--disable-usage-stats"]  # fmt: skip
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        with (self.temp_dir.parent / "head.log").open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the head's whole process group: GCS, raylet, agents, workers."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
            self.process = None


@pytest.fixture
def private_ray_head(tmp_path: Path) -> Iterator[PrivateRayHead]:
    names = ["port", "node_manager_port", "object_manager_port", "dashboard_agent_listen_port",
             "dashboard_agent_grpc_port", "runtime_env_agent_port", "metrics_export_port",
             "ray_client_server_port"]  # fmt: skip
    temp_dir = Path(f"/tmp/frh-{uuid.uuid4().hex[:6]}")  # short: Ray's unix sockets live there
    head = PrivateRayHead(temp_dir, {name: free_port() for name in names})
    head.start()
    try:
        yield head
    finally:
        head.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
