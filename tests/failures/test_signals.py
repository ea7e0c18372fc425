"""Ctrl-C and SIGTERM (an operator, systemd, ``ray job stop``): stop taking work, drain what is
in flight to Kafka and the store, print the summary, exit 130 / 143; a second one stops at once."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable

import pytest

from tests.failures.conftest import Command, stream_env_vars
from tests.stream.conftest import StreamEnv, wait_for

pytestmark = pytest.mark.slow


def unbounded_run(fitray: Callable[..., Command], env: StreamEnv, seed: int) -> Command:
    args = ("stream", "run", "--count", "0", "--rate", "150", "--seed", str(seed), "--json")
    return fitray(*args, env=stream_env_vars(env))


def test_sigterm_drains_in_flight_work_prints_the_summary_and_exits_143(
    stream_env: StreamEnv, fitray: Callable[..., Command]
) -> None:
    command = unbounded_run(fitray, stream_env, seed=81)
    wait_for(lambda: stream_env.collection.estimated_document_count() >= 300, 90, "300 stored")
    command.process.send_signal(signal.SIGTERM)
    code, stdout, stderr = command.finish()
    assert code == 143, stderr
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "SIGTERM"
    # drained: every workout taken from the source reached the store, and was committed
    assert summary["generated"] == summary["stored"] == len(stream_env.stored_ids()) >= 300
    assert (summary["lag"], summary["dead_lettered"]) == (0, 0)
    assert "SIGTERM: finishing in-flight work" in stderr and "Traceback" not in stderr


def test_a_second_ctrl_c_stops_at_once(
    stream_env: StreamEnv, fitray: Callable[..., Command]
) -> None:
    command = unbounded_run(fitray, stream_env, seed=82)
    wait_for(lambda: stream_env.collection.estimated_document_count() >= 100, 90, "100 stored")
    command.process.send_signal(signal.SIGINT)
    command.wait_for_line("SIGINT: finishing in-flight work", 30)
    command.process.send_signal(signal.SIGINT)
    code, stdout, stderr = command.finish()
    assert code == 130, stderr
    assert "SIGINT again: stopping at once" in stderr
    assert stdout == ""  # no summary: it did not wait for anything
