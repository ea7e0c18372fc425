"""fitray's settings: the one place that reads the environment.

Every field reads ``FITRAY_<NAME>`` (or the same line in ``.env``); the defaults point at the
local stack that ``fitray stack up`` starts, so nothing needs setting on a laptop. Secrets are
``SecretStr`` and never printed; :func:`redact_url` hides credentials inside URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fitray.exceptions import ConfigError

__all__ = [
    "FAILPOINTS",
    "WAREHOUSE_BACKENDS",
    "Failpoint",
    "Settings",
    "WarehouseBackend",
    "get_settings",
    "redact_url",
    "split_host_port",
]

ENV_PREFIX = "FITRAY_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The warehouses fitray loads into; every list of backends derives from this one.
WarehouseBackend = Literal["duckdb", "postgres", "redshift"]
WAREHOUSE_BACKENDS: tuple[WarehouseBackend, ...] = get_args(WarehouseBackend)

# Named places where a drill makes fitray fail on purpose (see fitray.failpoints).
Failpoint = Literal["warehouse.before_commit"]
FAILPOINTS: tuple[Failpoint, ...] = get_args(Failpoint)


class Settings(BaseSettings):
    """Effective configuration: environment, then ``.env``, then the defaults below."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # -- where things live on disk ----------------------------------------------------------
    stack_dir: Path = Field(
        PROJECT_ROOT / ".stack", description="State of the local stack: data, logs, pids."
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "fitray",
        description="Downloads and builds kept across clones (Kafka jars, FerretDB binary).",
    )
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Exercise CSV and calorie table.")
    exercises_csv: Path | None = Field(
        None, description="Exercise metadata CSV; empty means <data_dir>/megaGymDataset.csv."
    )
    activities_csv: Path | None = Field(
        None, description="Calorie table CSV; empty means <data_dir>/activities.csv."
    )
    mapping_path: Path = Field(
        PROJECT_ROOT / "mapping" / "mapping.json", description="Exercise title -> activity."
    )

    # -- Kafka ------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Broker list; the local broker listens on this port."
    )
    kafka_controller_port: int = Field(9093, description="KRaft controller port (local stack).")
    kafka_version: str = Field("4.1.1", description="Apache Kafka broker version from Maven.")
    kafka_partitions: int = Field(6, ge=1, description="Partitions for topics fitray creates.")
    kafka_raw_topic: str = Field("workouts.raw", description="Raw workouts from applications.")
    kafka_enriched_topic: str = Field("workouts.enriched", description="Enriched workouts.")
    kafka_dead_letter_topic: str = Field("workouts.dead-letter", description="Bad input + reason.")
    kafka_heap_mb: int = Field(512, ge=128, description="JVM heap of the local broker.")

    # -- MongoDB-compatible document store ----------------------------------------------------
    mongo_url: SecretStr = Field(
        SecretStr("mongodb://127.0.0.1:27017/"),
        description="MongoDB URL (may hold credentials, hence secret).",
    )
    mongo_database: str = Field("fitness", description="Database of the enriched events.")
    ferretdb_version: str = Field("v1.24.2", description="FerretDB built with go install.")
    ferretdb_debug_port: int = Field(28017, description="FerretDB metrics/debug HTTP port.")
    ferretdb_backend: Literal["postgresql", "sqlite"] = Field(
        "postgresql",
        description="Storage of the local FerretDB: 'postgresql' (a database of the stack's "
        "PostgreSQL; equality filters run there, on an index) or 'sqlite' (files in the stack "
        "dir; every filtered read scans the collection).",
    )
    ferretdb_postgres_database: str = Field(
        "ferretdb", description="Database of the stack's PostgreSQL that FerretDB stores into."
    )

    # -- PostgreSQL warehouse ---------------------------------------------------------------
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Field(
        5433, description="Local cluster port (5433: clear of a system 5432)."
    )
    postgres_user: str = "fitray"
    postgres_password: SecretStr = SecretStr("fitray")
    postgres_database: str = "fitray"

    # -- S3-compatible object store ---------------------------------------------------------
    s3_endpoint_url: str | None = Field(
        "http://127.0.0.1:9000", description="S3 endpoint; empty for AWS itself."
    )
    s3_bucket: str = "fitray"
    s3_region: str = "us-east-1"
    aws_access_key_id: SecretStr = SecretStr("fitray-local")
    aws_secret_access_key: SecretStr = SecretStr("fitray-local-secret")

    # -- Prefect and Ray --------------------------------------------------------------------
    prefect_api_url: str = Field("http://127.0.0.1:4200/api", description="Prefect server API.")
    ray_address: str = Field("127.0.0.1:6379", description="Ray head (GCS) address.")
    ray_dashboard_port: int = 8265
    ray_auth_mode: Literal["token", "disabled"] = Field(
        "token",
        description="Ray token authentication: the local head runs with it and fitray's drivers "
        "join with it (token from RAY_AUTH_TOKEN or ~/.ray/auth_token; Ray creates it).",
    )
    ray_num_cpus: int = Field(2, ge=1, description="CPUs the local Ray head offers.")
    ray_head_lost_after_s: float = Field(
        15.0,
        gt=0,
        description="A run whose Ray head stops answering for this long ends with one error "
        "instead of hanging.",
    )
    ray_worker_num_cpus: int = Field(
        1, ge=1, description="CPUs the second local Ray node (`fitray stack up ray-worker`) offers."
    )
    ray_worker_port: int = Field(
        23000,
        ge=1024,
        le=64000,
        description="First port of the second local Ray node: it takes this one to +5 (node "
        "manager, object manager, runtime-env agent, dashboard agent gRPC and HTTP, metrics "
        "export) and +100 to +299 for its workers, clear of the head's defaults.",
    )
    prometheus_port: int = Field(
        9090, description="Local Prometheus (stack service), scraping every Ray node's metrics."
    )

    # -- calorie API ------------------------------------------------------------------------
    calorie_api_url: str = Field(
        "http://127.0.0.1:8181", description="API-Ninjas-compatible base URL (no /v1 path)."
    )
    calorie_api_key: SecretStr | None = Field(None, description="Sent as X-Api-Key when set.")
    calorie_concurrency: int = Field(
        32, ge=1, description="Calorie API requests in flight at once, per client (event loop)."
    )
    calorie_rate_limit_per_s: float = Field(
        50.0, gt=0, description="Calorie API requests per second, per client or per cluster."
    )
    calorie_rate_burst: int = Field(
        10, ge=1, description="Requests allowed at once above the steady rate (token bucket)."
    )
    calorie_limiter_idle_s: float = Field(
        600.0,
        gt=0,
        description="The cluster's shared rate-limit actor of an API (a Ray worker process) "
        "removes itself after this long unused; the next client recreates it.",
    )
    calorie_timeout_s: float = Field(
        5.0, gt=0, description="Deadline of one calorie API request, connect to last byte."
    )
    calorie_backoff_base_s: float = Field(
        0.1, gt=0, description="First retry waits up to this; doubles per retry (full jitter)."
    )
    calorie_backoff_cap_s: float = Field(
        5.0, gt=0, description="Longest jittered backoff between retries."
    )
    calorie_max_wait_s: float = Field(
        300.0,
        ge=0,
        description="How long the calorie API may answer nobody before the run stops with one "
        "error (an outage is waited out, never dead-lettered); also how long one workout may keep "
        "failing while the API answers others before it is dead-lettered (api_unavailable).",
    )
    calorie_breaker_threshold: int = Field(
        5, ge=1, description="Consecutive transient failures that open the circuit breaker."
    )
    calorie_breaker_cooldown_s: float = Field(
        10.0, gt=0, description="How long an open breaker refuses calls before one probe."
    )
    calorie_cache_size: int | None = Field(
        None,
        ge=0,
        description="(activity, weight) answers kept in memory per enrichment actor; unset means "
        "the whole key space (activities x weights at the step: ~112k entries, ~30 MB at most); "
        "0 turns caching off.",
    )
    calorie_cache_ttl_s: float | None = Field(
        None, gt=0, description="Age after which a cached answer is asked again; unset: never."
    )
    calorie_weight_step_lb: float = Field(
        1.0,
        ge=0,
        le=50,
        description="Requests carry the weight rounded to this (lb; cache keyed alike): 1 moves "
        "kcal/hour by at most 0.5/weight (1 % at 50 lb); 0 sends weights as given.",
    )

    # -- batch ETL and warehouse ------------------------------------------------------------
    warehouse_backend: WarehouseBackend = Field(
        "duckdb", description="Warehouse the batch flow loads into (DuckDB file is embedded)."
    )
    duckdb_path: Path | None = Field(
        None, description="DuckDB warehouse file; empty means <stack_dir>/data/warehouse.duckdb."
    )
    staging_url: str | None = Field(
        None,
        description="Where Parquet is staged: a local directory or s3://bucket/prefix; "
        "empty means <stack_dir>/data/staging (Redshift needs s3://).",
    )
    keep_staged_files: bool = Field(
        False, description="Keep staged Parquet after a committed load (default: purge)."
    )
    batch_rows: int = Field(
        250_000, ge=1, description="Target rows per Ray task of the batch flow."
    )
    batch_max_tasks: int = Field(
        4, ge=1, description="Most Ray tasks per step in one run (bigger batches beyond it)."
    )
    batch_overlap_s: float = Field(
        900.0,
        ge=0,
        description="How far behind the watermark each run re-reads: a document visible this long "
        "after its stored_at is still loaded (the merge skips re-read ones).",
    )
    batch_read: Literal["auto", "stored_at", "stored_minute"] = Field(
        "auto",
        description="How a run finds new documents: 'stored_at' as one range (on MongoDB's "
        "index), 'stored_minute' as one equality per minute (what FerretDB's PostgreSQL backend "
        "runs on an index), 'auto' asks the store (explain) which it can push down.",
    )
    batch_interval_s: int = Field(
        600, ge=10, description="Interval of the served Prefect deployment (fitray batch --serve)."
    )
    reference_key: str = Field(
        "reference/megaGymDataset.csv",
        description="Key of the exercise CSV in s3_bucket (uploaded from data_dir if absent).",
    )
    redshift_host: str | None = Field(None, description="Redshift endpoint host.")
    redshift_port: int = Field(5439, description="Redshift port.")
    redshift_database: str = Field("dev", description="Redshift database.")
    redshift_user: str | None = Field(None, description="Redshift user.")
    redshift_password: SecretStr | None = Field(None, description="Redshift password.")
    redshift_iam_role: str | None = Field(
        None,
        description="IAM role ARN for COPY from S3; without it COPY uses the AWS key settings.",
    )

    # -- dashboard and report ---------------------------------------------------------------
    dashboard_port: int = Field(8501, description="Port of `fitray dashboard` on 127.0.0.1.")
    report_dir: Path | None = Field(
        None,
        description="Where the batch flow writes report.html and chart PNGs after each load; "
        "empty means <stack_dir>/data/report.",
    )

    # -- stream pipeline (fitray stream) ----------------------------------------------------
    stream_enrich_actors: int = Field(
        2, ge=1, description="Async Ray actors enriching workouts with calories."
    )
    stream_enrich_routing: Literal["key", "round_robin"] = Field(
        "key",
        description="How workouts reach enrichment actors: 'key' by a hash of the calorie "
        "lookup's key (each actor's cache owns its own keys), 'round_robin' whole batches.",
    )
    stream_consumer_actors: int = Field(
        2, ge=1, description="Ray consumer actors in the group (more than partitions idle)."
    )
    stream_batch_size: int = Field(
        1000, ge=1, description="Workouts per enrichment call (one Ray call costs ~1 ms)."
    )
    stream_max_in_flight: int = Field(
        6, ge=1, description="Batches between the source and Kafka's ack (backpressure bound)."
    )
    stream_consumer_group: str = Field(
        "fitray-stream", description="Consumer group of the enriched topic -> MongoDB sink."
    )
    stream_poll_batch: int = Field(
        1000, ge=1, description="Most messages one consume() returns (one bulk write)."
    )
    stream_poll_timeout_s: float = Field(
        0.5, gt=0, description="Longest wait of one consume() for its batch to fill."
    )
    stream_collection: str = Field(
        "exercises_calories", description="MongoDB collection of enriched workouts (_id=event_id)."
    )
    stream_store_retry_cap_s: float = Field(
        5.0, gt=0, description="Longest wait between retries of a failed bulk write."
    )
    stream_store_max_wait_s: float = Field(
        300.0,
        gt=0,
        description="How long the document store may refuse writes before a run stops with one "
        "error (events wait uncommitted in Kafka meanwhile: nothing is lost).",
    )
    stream_drain_timeout_s: float = Field(
        120.0,
        gt=0,
        description="After the source ends or a stop (Ctrl-C, SIGTERM): how long in-flight "
        "batches and the consumers' commits may take before the run ends anyway.",
    )
    stream_produce_attempts: int = Field(
        3, ge=1, description="Tries per message after a failed delivery before dead-lettering."
    )
    stream_dead_letter_max_bytes: int = Field(
        262_144, ge=1024, description="Dead-letter payloads beyond this are cut (header says so)."
    )
    kafka_compression: Literal["lz4", "zstd", "snappy", "gzip", "none"] = Field(
        "lz4", description="Producer compression: lz4 is cheapest on CPU for JSON this size."
    )
    kafka_linger_ms: int = Field(
        10, ge=0, description="Producer wait to fill a batch: 10 ms trades latency for requests."
    )
    kafka_batch_bytes: int = Field(
        1_000_000, ge=1024, description="Producer batch.size per partition, bytes."
    )
    kafka_delivery_timeout_ms: int = Field(
        120_000, ge=1000, description="Producer retries a message this long (a broker restart)."
    )

    # -- behaviour --------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    failpoints: Annotated[frozenset[Failpoint], NoDecode] = Field(
        frozenset(),
        description="Comma-separated failpoints that fire on purpose, for fault drills "
        f"({', '.join(FAILPOINTS)}); empty in normal operation.",
    )

    @field_validator(
        "s3_endpoint_url", "exercises_csv", "activities_csv", "report_dir", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("failpoints", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    # -- derived views ----------------------------------------------------------------------
    @property
    def kafka_port(self) -> int:
        return split_host_port(self.kafka_bootstrap_servers.split(",")[0], 9092)[1]

    @property
    def mongo_port(self) -> int:
        return urlsplit(self.mongo_url.get_secret_value()).port or 27017

    @property
    def s3_port(self) -> int:
        return urlsplit(self.s3_endpoint_url or "").port or 9000

    @property
    def prefect_port(self) -> int:
        return urlsplit(self.prefect_api_url).port or 4200

    @property
    def calorie_api_port(self) -> int:
        return urlsplit(self.calorie_api_url).port or 8181

    @property
    def ray_port(self) -> int:
        return split_host_port(self.ray_address, 6379)[1]

    @property
    def ray_dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.ray_dashboard_port}"

    @property
    def postgres_conninfo(self) -> str:
        """libpq keyword string; carries the password, so never log it."""
        return (
            f"host={self.postgres_host} port={self.postgres_port} user={self.postgres_user} "
            f"password={self.postgres_password.get_secret_value()} "
            f"dbname={self.postgres_database}"
        )

    @property
    def exercises_file(self) -> Path:
        return self.exercises_csv or self.data_dir / "megaGymDataset.csv"

    @property
    def activities_file(self) -> Path:
        return self.activities_csv or self.data_dir / "activities.csv"

    @property
    def report_folder(self) -> Path:
        return self.report_dir or self.stack_dir / "data" / "report"

    @property
    def duckdb_file(self) -> Path:
        return self.duckdb_path or self.stack_dir / "data" / "warehouse.duckdb"

    @property
    def staging_location(self) -> str:
        return self.staging_url or str(self.stack_dir / "data" / "staging")

    def public_view(self) -> dict[str, str]:
        """Every setting as text for display, secrets and URL credentials redacted."""
        view: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                text = redact_url(raw) if "://" in raw else "**********"
            else:
                text = "" if value is None else str(value)
            view[ENV_PREFIX + name.upper()] = text
        return view


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host:
        return port or "127.0.0.1", default_port
    return host, int(port)


def redact_url(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``; others pass unchanged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; a bad value becomes one :class:`ConfigError` line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else ENV_PREFIX
        raise ConfigError(
            f"invalid setting {name}: {first['msg']}; fix it in the environment or .env"
        ) from None
