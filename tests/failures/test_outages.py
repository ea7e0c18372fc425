"""A dependency that goes away mid-run is not bad input: the run says what it waits for, with
the address, waits within a bound, and either completes when the server is back or ends with
one clear line -- never dead-lettering good events, never hanging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.failures.conftest import Command, error_lines, stream_env_vars
from tests.fixtures.proxy import TcpProxy
from tests.stream.conftest import StreamEnv, expected_ids

pytestmark = pytest.mark.slow
COUNT = 400


def run(fitray: Callable[..., Command], env: dict[str, str], seed: int) -> Command:
    return fitray("stream", "run", "--count", str(COUNT), "--seed", str(seed), "--json", env=env)


def calorie_api_away(calorie_service: Callable[..., Any], tcp_proxy: type[TcpProxy]) -> TcpProxy:
    """A real calorie service behind a proxy that is off: the API is away from the start."""
    service = calorie_service()
    return tcp_proxy(int(service.url.rsplit(":", 1)[1]), start_up=False)


def assert_all_stored_once(env: StreamEnv, seed: int) -> None:
    stored = env.stored_ids()
    assert len(stored) == COUNT and set(stored) == expected_ids(seed, COUNT)


def test_store_away_is_waited_for_and_the_run_completes_when_it_is_back(
    stream_env: StreamEnv, fitray: Callable[..., Command], tcp_proxy: type[TcpProxy]
) -> None:
    store = tcp_proxy(stream_env.settings.mongo_port, start_up=False)  # away from the start
    url = f"mongodb://127.0.0.1:{store.port}/"
    env = stream_env_vars(stream_env, FITRAY_MONGO_URL=url, FITRAY_STREAM_STORE_MAX_WAIT_S=120)
    command = run(fitray, env, seed=71)
    command.wait_for_line(f"waiting for the document store at {url} (FITRAY_MONGO_URL)", 90)
    store.up()
    code, stdout, stderr = command.finish()
    assert code == 0, stderr
    assert '"stored": 400' in stdout and '"dead_lettered": 0' in stdout
    assert "resumed" in stderr
    assert_all_stored_once(stream_env, 71)


def test_store_away_past_the_bound_ends_with_one_line_and_a_rerun_stores_all(
    stream_env: StreamEnv, fitray: Callable[..., Command], tcp_proxy: type[TcpProxy]
) -> None:
    store = tcp_proxy(stream_env.settings.mongo_port, start_up=False)
    url = f"mongodb://127.0.0.1:{store.port}/"
    env = stream_env_vars(stream_env, FITRAY_MONGO_URL=url, FITRAY_STREAM_STORE_MAX_WAIT_S=8)
    code, _, stderr = run(fitray, env, seed=72).finish()
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert f"the document store at {url} (FITRAY_MONGO_URL) has refused" in line
    assert "FITRAY_STREAM_STORE_MAX_WAIT_S=8" in line and "Nothing is lost" in line
    assert "Traceback" not in stderr
    store.up()  # back: the same command again stores every event once
    code, _, stderr = run(fitray, env, seed=72).finish()
    assert code == 0, stderr
    assert_all_stored_once(stream_env, 72)


def test_calorie_api_away_is_waited_out_without_dead_letters(
    stream_env: StreamEnv,
    fitray: Callable[..., Command],
    tcp_proxy: type[TcpProxy],
    calorie_service: Callable[..., Any],
) -> None:
    api = calorie_api_away(calorie_service, tcp_proxy)
    env = stream_env_vars(
        stream_env,
        FITRAY_CALORIE_API_URL=f"http://127.0.0.1:{api.port}",
        FITRAY_CALORIE_MAX_WAIT_S=120,
        FITRAY_CALORIE_BREAKER_COOLDOWN_S=1,
    )
    command = run(fitray, env, seed=73)
    command.wait_for_line(f"waiting for the calorie API at http://127.0.0.1:{api.port}", 90)
    api.up()
    code, stdout, stderr = command.finish()
    assert code == 0, stderr
    assert '"dead_lettered": 0' in stdout
    assert_all_stored_once(stream_env, 73)


def test_calorie_api_away_past_the_bound_ends_with_one_line_and_nothing_dead_lettered(
    stream_env: StreamEnv,
    fitray: Callable[..., Command],
    tcp_proxy: type[TcpProxy],
    calorie_service: Callable[..., Any],
) -> None:
    api = calorie_api_away(calorie_service, tcp_proxy)
    env = stream_env_vars(
        stream_env,
        FITRAY_CALORIE_API_URL=f"http://127.0.0.1:{api.port}",
        FITRAY_CALORIE_MAX_WAIT_S=6,
    )
    code, _, stderr = run(fitray, env, seed=74).finish()
    assert code == 1, stderr
    (line,) = error_lines(stderr)
    assert "answered nobody for" in line and "FITRAY_CALORIE_MAX_WAIT_S=6" in line
    assert "nothing was dead-lettered" in line and "Traceback" not in stderr
    assert stream_env.stored_ids() == []  # nothing enriched, nothing stored, nothing lost:
    api.up()  # the same command, the API back: every event stored once, none dead-lettered
    code, stdout, stderr = run(fitray, env, seed=74).finish()
    assert code == 0, stderr
    assert '"dead_lettered": 0' in stdout
    assert_all_stored_once(stream_env, 74)
