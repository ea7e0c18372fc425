"""Settings: environment and .env override defaults, secrets never printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitray.config import Settings, get_settings, redact_url
from fitray.exceptions import ConfigError


def test_defaults_point_at_the_local_stack() -> None:
    settings = Settings(_env_file=None)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.mongo_port == 27017
    assert settings.calorie_api_url.startswith("http://127.0.0.1:")
    assert settings.stream_batch_size == 1000  # README: "batches of 1,000 workouts"


def test_environment_overrides_and_ports_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITRAY_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("FITRAY_MONGO_URL", "mongodb://u:p@127.0.0.1:27999/")
    settings = Settings(_env_file=None)
    assert settings.kafka_port == 19092
    assert settings.mongo_port == 27999


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("FITRAY_POSTGRES_PORT=6543\n")
    assert Settings(_env_file=env_file).postgres_port == 6543


def test_public_view_redacts_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITRAY_POSTGRES_PASSWORD", "pg-hunter2")
    monkeypatch.setenv("FITRAY_CALORIE_API_KEY", "key-hunter2")
    monkeypatch.setenv("FITRAY_MONGO_URL", "mongodb://admin:mongo-hunter2@db.example:27017/")
    view = Settings(_env_file=None).public_view()
    text = "\n".join(view.values())
    assert "hunter2" not in text
    assert view["FITRAY_MONGO_URL"] == "mongodb://admin:***@db.example:27017/"
    assert view["FITRAY_CALORIE_API_KEY"] == "**********"


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20))
def test_redact_url_never_leaks_the_password(password: str) -> None:
    assert redact_url(f"mongodb://user:{password}@host:1/db") == "mongodb://user:***@host:1/db"


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITRAY_KAFKA_PARTITIONS", "many")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="FITRAY_KAFKA_PARTITIONS"):
            get_settings()
    finally:
        get_settings.cache_clear()


def fitray_config(**env: str) -> subprocess.CompletedProcess[str]:
    """`fitray config` in a clean environment holding only ``env`` (no .env is read from /tmp)."""
    return subprocess.run(
        [sys.executable, "-m", "fitray", "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
        cwd="/tmp",
        check=False,
        timeout=60,
    )


def test_cli_config_shows_settings_without_secrets() -> None:
    result = fitray_config(FITRAY_POSTGRES_PASSWORD="pg-hunter2")
    assert result.returncode == 0, result.stderr
    assert "FITRAY_POSTGRES_PASSWORD" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_cli_bad_setting_is_one_line() -> None:
    result = fitray_config(FITRAY_KAFKA_PARTITIONS="many")
    assert result.returncode == 1
    assert "invalid setting FITRAY_KAFKA_PARTITIONS" in result.stderr
    assert "Traceback" not in result.stderr
