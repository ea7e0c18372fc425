"""A server that is not there at all: one red ``error:`` line naming the address, the setting
and what to do, exit 1 -- no traceback, no minutes of retries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fitray.config import Settings
from tests.failures.conftest import Command, error_lines, free_port

COMMANDS = {
    "stream run": ("stream", "run", "--count", "10"),
    "batch": ("batch",),
    "demo": ("demo", "--count", "10"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_ray_head_is_one_line_naming_the_address_and_the_setting(
    stack: Settings, fitray: Callable[..., Command], command: str
) -> None:
    address = f"127.0.0.1:{free_port()}"
    code, _, stderr = fitray(*COMMANDS[command], env={"FITRAY_RAY_ADDRESS": address}).finish()
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert f"no Ray head answers at {address} (FITRAY_RAY_ADDRESS)" in line
    assert "`fitray stack up`" in line
    assert "Traceback" not in stderr


@pytest.mark.parametrize("command", [("stream", "run", "--count", "10"), ("stream", "consume")])
def test_kafka_unreachable_is_one_line_naming_the_setting(
    stack: Settings, fitray: Callable[..., Command], command: tuple[str, ...]
) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    env = {"FITRAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    code, _, stderr = fitray(*command, env=env).finish()
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert f"Kafka not reachable at {bootstrap} (FITRAY_KAFKA_BOOTSTRAP_SERVERS)" in line
    assert "Traceback" not in stderr


def test_no_prefect_server_is_one_line_naming_the_setting(
    stack: Settings, fitray: Callable[..., Command]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    code, _, stderr = fitray("batch", env={"FITRAY_PREFECT_API_URL": url}).finish()
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert f"no Prefect server answers at {url} (FITRAY_PREFECT_API_URL)" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [("--count", "-5"), ("--rate", "0"), ("--duration", "-1"), ("--consumers", "0"),
     ("--batch-size", "0"), ("--max-in-flight", "0"), ("--source", "kafka")],
)  # fmt: skip
def test_nonsense_options_are_usage_errors(
    fitray: Callable[..., Command], option: str, value: str
) -> None:
    code, _, stderr = fitray("stream", "run", option, value).finish()
    assert code == 2, stderr
    assert f"Invalid value for '{option}'" in stderr
