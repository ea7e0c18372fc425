"""The Ray head dies during a stream run: the driver ends within a bound with one clear line
(nothing lost, what to do) instead of hanging; the same command, re-run once the head is
back, stores every event once."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fitray.clients.ray import head_reachable
from tests.failures.conftest import Command, PrivateRayHead, error_lines, stream_env_vars
from tests.stream.conftest import StreamEnv, expected_ids, wait_for

pytestmark = pytest.mark.slow
COUNT = 3000


def test_a_lost_head_ends_the_run_with_one_line_and_a_rerun_stores_every_event_once(
    stream_env: StreamEnv, fitray: Callable[..., Command], private_ray_head: PrivateRayHead
) -> None:
    env = stream_env_vars(
        stream_env,
        FITRAY_RAY_ADDRESS=private_ray_head.address,
        FITRAY_RAY_AUTH_MODE="disabled",
        # this pytest process's own Ray connection (earlier tests) put RAY_AUTH_MODE=token in
        # its environment, which a user's RAY_AUTH_MODE would win over: not what is tested here
        RAY_AUTH_MODE="disabled",
        FITRAY_RAY_HEAD_LOST_AFTER_S=5,
    )
    args = ("stream", "run", "--count", str(COUNT), "--rate", "100", "--seed", "91", "--json")
    wait_for(lambda: head_reachable(private_ray_head.address), 60, "the private head")
    command = fitray(*args, env=env)
    wait_for(
        lambda: (
            stream_env.collection.estimated_document_count() >= 300
            or command.process.poll() is not None
        ),
        180,
        "300 stored",
    )
    assert command.process.poll() is None, "\n".join(command.lines)  # still running
    private_ray_head.kill()
    code, stdout, stderr = command.finish(timeout_s=120)  # a guard against a hang
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert f"lost the Ray head at {private_ray_head.address}" in line
    assert "Nothing is lost" in line and "re-run the same command" in line
    assert "Failed to push error to driver" not in stderr and "Traceback" not in stderr
    stored_before = len(stream_env.stored_ids())
    assert 300 <= stored_before < COUNT

    private_ray_head.start()
    wait_for(lambda: head_reachable(private_ray_head.address), 60, "the head to be back")
    code, stdout, stderr = fitray(*args, env=env).finish(timeout_s=180)
    assert code == 0, stderr
    summary = json.loads(stdout)
    stored = stream_env.stored_ids()
    assert len(stored) == COUNT and set(stored) == expected_ids(91, COUNT)
    assert summary["stored"] == COUNT - stored_before  # the rest, once
    assert summary["duplicates"] == summary["consumed"] - summary["stored"]
