"""The local stack: real servers, idempotent start-up, and one clear line for each failure."""

from __future__ import annotations

import base64
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fitray.config import Settings
from fitray.stack import Stack, StackError
from fitray.stack.ferretdb import FerretDBService
from fitray.stack.kafka import KafkaService, new_cluster_id
from fitray.stack.postgres import PostgresService, unreachable_directory
from fitray.stack.process import port_in_use, wait_until

PROOFS = {
    "postgres": "query ok",
    "ferretdb": "insert/find with unique index ok",
    "kafka": "produce/consume round trip",
    "s3": "put/get ok",
    "calorie-api": "lookup ok",
    "ray": "dashboard API ok",
    "prefect": "API healthy",
    "prometheus": "query ok",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(stack_dir=tmp_path / "stack", cache_dir=tmp_path / "cache", **overrides)


def fake_ferretdb(settings: Settings, script: str) -> None:
    binary = settings.cache_dir / "bin" / f"ferretdb-{settings.ferretdb_version}"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n" + script + "\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)


def test_status_proves_every_server_is_the_real_thing(stack: Settings) -> None:
    statuses = {s.name: s for s in Stack(stack).status()}
    assert set(statuses) == set(PROOFS)
    for name, proof in PROOFS.items():
        assert statuses[name].healthy, f"{name}: {statuses[name].detail}"
        assert proof in statuses[name].detail


def test_up_on_a_healthy_stack_starts_nothing(stack: Settings) -> None:
    before = {s.name: s.pid for s in Stack(stack).status()}
    lines: list[str] = []
    Stack(stack).up(progress=lines.append)
    assert lines == [f"{name}: already running" for name in PROOFS]
    assert {s.name: s.pid for s in Stack(stack).status()} == before


def test_busy_port_is_refused_naming_the_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = isolated_settings(tmp_path, s3_endpoint_url=f"http://127.0.0.1:{port}")
        with pytest.raises(StackError, match=f"port {port} is in use.*FITRAY_S3_ENDPOINT_URL"):
            Stack(settings, ["s3"]).up()


@pytest.mark.parametrize(
    ("service_type", "tool", "hint"),
    [(KafkaService, "java", "JDK"), (FerretDBService, "go", "Go")],
)
def test_missing_toolchain_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_type: type, tool: str, hint: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StackError, match=f"'{tool}' not found on PATH: install .*{hint}"):
        service_type(isolated_settings(tmp_path)).install()


def test_server_that_exits_at_start_up_is_reported_with_its_log(tmp_path: Path) -> None:
    settings = isolated_settings(  # SQLite: supervising the (fake) process is what is tested
        tmp_path,
        mongo_url=f"mongodb://127.0.0.1:{free_port()}/",
        ferretdb_debug_port=free_port(),
        ferretdb_backend="sqlite",
    )
    fake_ferretdb(settings, 'echo "boom: cannot open state dir"; exit 3')
    with pytest.raises(StackError, match="ferretdb exited during start-up") as raised:
        Stack(settings, ["ferretdb"]).up()
    assert "boom: cannot open state dir" in str(raised.value)


def test_server_that_never_becomes_healthy_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated_settings(  # SQLite: supervising the (fake) process is what is tested
        tmp_path,
        mongo_url=f"mongodb://127.0.0.1:{free_port()}/",
        ferretdb_debug_port=free_port(),
        ferretdb_backend="sqlite",
    )
    fake_ferretdb(settings, "exec sleep 60")
    monkeypatch.setattr(FerretDBService, "startup_timeout_s", 1.0)
    stack = Stack(settings, ["ferretdb"])
    try:
        with pytest.raises(StackError, match="ferretdb did not become healthy within 1s"):
            stack.up()
    finally:
        stack.down()
    assert stack.services[0].files.pid() is None


def test_down_stops_the_server_and_frees_its_port(tmp_path: Path) -> None:
    port = free_port()
    settings = isolated_settings(tmp_path, s3_endpoint_url=f"http://127.0.0.1:{port}")
    stack = Stack(settings, ["s3"])
    (status,) = stack.up()
    assert status.healthy
    stack.down()
    assert wait_until(lambda: not port_in_use(port), 10, raise_on_timeout=False)
    (status,) = stack.status()
    assert not status.healthy


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitray", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_status_lists_every_service(stack: Settings) -> None:
    result = run_cli("stack", "status")
    assert result.returncode == 0, result.stderr
    for name in PROOFS:
        assert name in result.stdout


def test_cli_unknown_service_is_one_line_without_traceback() -> None:
    result = run_cli("stack", "status", "zookeeper")
    assert result.returncode == 1
    assert "unknown service(s) zookeeper" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_head_gets_a_token_before_it_starts_and_never_logs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitray.stack.ray import RayHeadService, ray_auth_token

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    assert ray_auth_token() is None
    service = RayHeadService(isolated_settings(tmp_path))
    service.install()
    token = ray_auth_token()
    assert token and len(token) >= 32
    assert (tmp_path / "home" / ".ray" / "auth_token").exists()
    logs = "".join(p.read_text() for p in (tmp_path / "stack").rglob("*.log"))
    assert token not in logs


def test_kafka_cluster_ids_never_look_like_an_option() -> None:
    # one id in 64 used to start with '-', and the storage tool then refused to format
    for cluster_id in (new_cluster_id() for _ in range(2000)):
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_unreachable_directory_is_the_first_one_a_user_cannot_enter() -> None:
    postgres = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp is open to everyone; mkdtemp is not
    try:
        base.chmod(0o755)
        private = base / "private"
        private.mkdir(mode=0o700)
        assert unreachable_directory(private / "stack" / "data", postgres) == private
        private.chmod(0o711)  # enter, not list: enough
        assert unreachable_directory(private / "stack" / "data", postgres) is None
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as the postgres user")
def test_a_stack_dir_postgres_cannot_enter_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    settings = isolated_settings(private)
    blocked = unreachable_directory(settings.stack_dir, pwd.getpwnam("postgres"))
    assert blocked is not None
    with pytest.raises(StackError, match=rf"cannot enter {re.escape(str(blocked))}: `chmod o\+x"):
        PostgresService(settings).install()
    assert not list(settings.stack_dir.glob("data/*.pw"))  # no password file left behind
