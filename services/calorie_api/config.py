"""Settings of the local calorie service: where it listens, its data, and injected faults.

Every field is a CLI flag (``--latency-ms``) and an environment variable
(``FITRAY_CALORIE_SERVICE_LATENCY_MS``); the flag wins. ``port`` and ``api_key`` left unset fall
back to the stack's settings (``FITRAY_CALORIE_API_URL``'s port, ``FITRAY_CALORIE_API_KEY``) so
the service and fitray's client agree without repeating them. All faults are off by default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fitray.exceptions import ConfigError

__all__ = ["DEFAULT_TABLE", "ENV_PREFIX", "CalorieServiceConfig", "load_config"]

ENV_PREFIX = "FITRAY_CALORIE_SERVICE_"
DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "data" / "activities.csv"


class CalorieServiceConfig(BaseSettings):
    """Effective configuration of one service process."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port; 0 picks a free one (logged). Default: the port of "
        "FITRAY_CALORIE_API_URL (8181).",
    )
    table: Path = Field(default=DEFAULT_TABLE, description="Calorie table CSV.")
    api_key: SecretStr | None = Field(
        default=None,
        description="X-Api-Key clients must send; empty: none. Default: "
        "FITRAY_CALORIE_API_KEY if set, else none.",
    )
    latency_ms: float = Field(default=0.0, ge=0, description="Latency added to every API answer.")
    jitter_ms: float = Field(
        default=0.0, ge=0, description="Uniform +/- jitter around --latency-ms."
    )
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Fraction answering 503.")
    timeout_rate: float = Field(default=0.0, ge=0, le=1, description="Fraction hanging --hang-s.")
    hang_s: float = Field(default=30.0, ge=0, description="How long a hanging request waits.")
    garbage_rate: float = Field(default=0.0, ge=0, le=1, description="Fraction answering 200 HTML.")
    rate_limit_per_s: float | None = Field(
        default=None, gt=0, description="Token-bucket rate; over it answer 429. Default: no limit."
    )
    rate_limit_burst: float | None = Field(
        default=None, ge=1, description="Token-bucket size. Default: the rate (at least 1)."
    )
    seed: int | None = Field(default=None, description="Seed of the fault randomness.")
    access_log: bool = Field(default=False, description="Log one line per request.")

    @model_validator(mode="after")
    def _fault_rates_fit(self) -> CalorieServiceConfig:
        # One draw per request picks at most one fault, so the fractions must share [0, 1].
        if self.error_rate + self.timeout_rate + self.garbage_rate > 1:
            raise ValueError("error_rate + timeout_rate + garbage_rate must be at most 1")
        return self

    @property
    def required_key(self) -> str | None:
        """The key clients must send, or None when the service is open."""
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        return key or None

    @property
    def burst(self) -> float:
        if self.rate_limit_burst is not None:
            return self.rate_limit_burst
        return max(1.0, self.rate_limit_per_s or 1.0)


def load_config(**overrides: object) -> CalorieServiceConfig:
    """Flags over environment over stack settings; a bad value is one :class:`ConfigError`."""
    try:
        config = CalorieServiceConfig(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "configuration"
        where = f"--{name.replace('_', '-')} / {ENV_PREFIX}{name.upper()}"
        raise ConfigError(f"invalid calorie service setting {where}: {first['msg']}") from None
    if config.port is not None and config.api_key is not None:
        return config
    from fitray.config import get_settings  # read the stack's settings only when needed

    settings = get_settings()
    return config.model_copy(
        update={
            "port": settings.calorie_api_port if config.port is None else config.port,
            "api_key": config.api_key if config.api_key is not None else settings.calorie_api_key,
        }
    )
