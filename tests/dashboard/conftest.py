"""Dashboard fixtures: a warehouse filled by the real batch flow, the dashboard server, Chromium.

``filled_warehouse`` is the ONE place that runs the batch flow for these tests (the flow's entry
point is being refactored: update it here only). It seeds documents whose titles come from the
exercise CSV, so every filter has several values, one equipment ("Foam Roll") has only unrated
exercises and one title is unknown to the CSV (null metadata).

``ran_pipeline`` is the whole pipeline for the health page: a real stream run (Ray actors, the
calorie service, this test's own topics, group and database) with a few invalid messages in the
enriched topic, which its consumers dead-letter, then the batch flow into this test's warehouse.

Chromium is Debian's (/usr/bin/chromium, installed by deploy/local/install-system-deps.sh);
Playwright drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fitray.config import PROJECT_ROOT, Settings
from tests.stream.conftest import StreamEnv, stream_env
from tests.warehouse.conftest import BASE_TIME, batch_settings, make_doc, seed

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "INVALID_MESSAGES",
    "UNRATED_EQUIPMENT",
    "DashboardServer",
    "Pipeline",
    "RecordedPage",
    "Warehouse",
    "batch_settings",
    "browser",
    "dashboard_server",
    "filled_warehouse",
    "free_port",
    "ran_pipeline",
    "recorded_page",
    "seed_documents",
    "server_env",
    "stream_env",
    "wait_until",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / ".stack" / "artifacts" / "dashboard"  # git-ignored, kept by CI
UNRATED_EQUIPMENT = "Foam Roll"
UNKNOWN_TITLE = "Not a real exercise"
DOCUMENTS = 240
STREAMED = 150  # workouts of the health page's stream run
INVALID_MESSAGES = (b"{not json", b'{"event_id": "half"}', b"[1, 2, 3]", b"\xff\xfe")


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the warehouse, filled by the batch flow ----------------------------------------------------


def seed_titles() -> list[str]:
    """Titles of the CSV covering every type and level, several body parts and equipment."""
    with open(PROJECT_ROOT / "data" / "megaGymDataset.csv", newline="", encoding="utf-8") as f:
        rows = {r["Title"].strip(): r for r in reversed(list(csv.DictReader(f)))}  # first wins
    rated = [r for r in rows.values() if r["Rating"] and r["Equipment"] != UNRATED_EQUIPMENT]
    picked: dict[str, None] = {}
    for key in ("Type", "Level", "BodyPart", "Equipment"):
        for value in sorted({r[key] for r in rated if r[key]}):
            for row in [r for r in rated if r[key] == value][:2]:
                picked[row["Title"].strip()] = None
    unrated = [
        t for t, r in rows.items() if r["Equipment"] == UNRATED_EQUIPMENT and not r["Rating"]
    ]
    assert len(unrated) >= 2, "the CSV changed: no unrated Foam Roll exercises any more"
    return [*picked, *unrated[:2], UNKNOWN_TITLE]


def seed_documents(prefix: str, count: int) -> list[dict[str, Any]]:
    """Documents over :func:`seed_titles`; each title burns its own kcal/hour (bars differ)."""
    titles = seed_titles()
    documents = []
    for i in range(count):
        slot = i % len(titles)
        kcal_per_hour = 120.0 + (slot * 37) % 600
        document = make_doc(f"{prefix}{i:04d}", BASE_TIME, title=titles[slot])
        document["kcal_per_hour"] = kcal_per_hour
        document["total_kcal"] = kcal_per_hour * document["duration_min"] / 60
        documents.append(document)
    return documents


@dataclass
class Warehouse:
    """A warehouse filled by the batch flow; ``load_more`` seeds and runs the flow again."""

    backend: str
    settings: Settings
    load_more: Callable[[list[dict[str, Any]]], int]
    rows: int = 0


@pytest.fixture
def filled_warehouse(
    request: pytest.FixtureRequest, batch_settings: Settings, mongo_db: Any
) -> Warehouse:
    """Documents seeded into this test's MongoDB database, loaded by the REAL batch flow.

    Parametrise indirectly with "duckdb" (default) or "postgres". Every call of the flow is in
    this function (``load``), so a change of the flow's entry point is made here only.
    """
    backend = getattr(request, "param", "duckdb")
    settings = batch_settings.model_copy(update={"warehouse_backend": backend})
    if backend == "postgres":
        dbname = request.getfixturevalue("pg_database").rsplit("dbname=", 1)[1]
        settings = settings.model_copy(update={"postgres_database": dbname})

    def load(documents: list[dict[str, Any]]) -> int:
        from flows.etl import run_batch_flow

        seed(mongo_db, documents)
        # local: the same Prefect flow and tasks, run in this process rather than on Ray
        # (tests/flows covers Ray), which halves the time these fixtures cost
        summary = run_batch_flow(settings, backend, local=True)  # type: ignore[arg-type]
        return int(summary.rows_inserted)

    warehouse = Warehouse(backend, settings, load)
    warehouse.rows = load(seed_documents("d", DOCUMENTS))
    assert warehouse.rows == DOCUMENTS
    return warehouse


@dataclass
class Pipeline:
    """A pipeline that ran: ``settings`` name its topics, group, database and warehouse."""

    env: StreamEnv
    settings: Settings
    streamed: int


@pytest.fixture
def ran_pipeline(stream_env: StreamEnv, batch_settings: Settings) -> Pipeline:
    """Invalid messages, a real stream run, then the batch flow: every stage has something."""
    from fitray.stream.pipeline import StreamPipeline
    from flows.etl import run_batch_flow
    from tests.stream.helpers import publish

    env = stream_env
    bad: list[tuple[bytes | None, bytes | None]] = [
        (f"bad-{i}".encode(), value) for i, value in enumerate(INVALID_MESSAGES)
    ]
    publish(env.settings.kafka_bootstrap_servers, env.topic, bad)
    streamed = StreamPipeline(env.settings, env.options(count=STREAMED, seed=71)).run()
    assert streamed.dead_letters == {"consume": len(INVALID_MESSAGES)}, streamed.dead_letters
    settings = batch_settings.model_copy(
        update={
            "kafka_enriched_topic": env.topic,
            "kafka_dead_letter_topic": env.dead_letter_topic,
            "stream_consumer_group": env.group_id,
        }
    )
    loaded = run_batch_flow(settings, "duckdb", local=True)
    assert loaded.rows_inserted == STREAMED
    return Pipeline(env, settings, STREAMED)


# -- the dashboard server (the real CLI: ``fitray dashboard --port N``) ----------------------


def server_env(settings: Settings) -> dict[str, str]:
    """The environment that points a dashboard process (or ``fitray report``) at ``settings``'
    warehouse, topics, consumer group and MongoDB database."""
    return {
        "FITRAY_WAREHOUSE_BACKEND": settings.warehouse_backend,
        "FITRAY_DUCKDB_PATH": str(settings.duckdb_file),
        "FITRAY_POSTGRES_HOST": settings.postgres_host,
        "FITRAY_POSTGRES_PORT": str(settings.postgres_port),
        "FITRAY_POSTGRES_DATABASE": settings.postgres_database,
        "FITRAY_KAFKA_ENRICHED_TOPIC": settings.kafka_enriched_topic,
        "FITRAY_KAFKA_DEAD_LETTER_TOPIC": settings.kafka_dead_letter_topic,
        "FITRAY_STREAM_CONSUMER_GROUP": settings.stream_consumer_group,
        "FITRAY_MONGO_DATABASE": settings.mongo_database,
    }


@dataclass
class DashboardServer:
    url: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)


@pytest.fixture
def dashboard_server(tmp_path: Path) -> Iterator[Callable[..., DashboardServer]]:
    """Factory: start ``fitray dashboard [args]`` with extra environment; every server stopped
    after."""
    started: list[DashboardServer] = []

    def start(env: dict[str, str], *args: str) -> DashboardServer:
        port = free_port()
        log = tmp_path / f"dashboard-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "fitray", "dashboard", "--port", str(port), *args],
                env={**os.environ, **env},
                cwd=tmp_path,  # no .env of the work tree leaks in
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: teardown stops Streamlit too
            )
        server = DashboardServer(f"http://127.0.0.1:{port}/", port, log, process)
        started.append(server)
        wait_until(
            lambda: _url_printed(server),
            90,
            f"`fitray dashboard` to print its URL (log: {log})",
        )
        return server

    yield start
    for server in started:
        _stop_group(server.process)


def _url_printed(server: DashboardServer) -> bool:
    if server.process.poll() is not None:
        pytest.fail(f"fitray dashboard exited early:\n{server.log.read_text()[-3000:]}")
    return f"dashboard: {server.url}" in server.log.read_text()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:  # Streamlit, in the same group, must be gone too
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("the dashboard's Streamlit process outlived `fitray dashboard`")


# -- Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (no browser download). Package-scoped:
    Playwright's sync API holds an event loop as running in the main thread while it lives,
    which would break every asyncio test collected after this package."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} missing: run `bash deploy/local/install-system-deps.sh` as root "
            "(apt-get install chromium)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class RecordedPage:
    """A page whose console errors, page errors and every request URL are recorded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self, allowed: tuple[str, ...]) -> list[str]:
        return [url for url in self.requests if not url.startswith(allowed)]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.mouse.move(1, 1)  # no hover tooltip in the picture
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def recorded_page(browser: Any) -> Iterator[RecordedPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    recorded = RecordedPage(page)
    page.on("console", lambda m: recorded.errors.extend([m.text] if m.type == "error" else []))
    page.on("pageerror", lambda exc: recorded.errors.append(f"page error: {exc}"))
    page.on("request", lambda r: recorded.requests.append(r.url))
    page.on("websocket", lambda ws: recorded.requests.append(ws.url))
    yield recorded
    context.close()
