"""The "Pipeline health" page in Debian's headless Chromium, against a pipeline that really ran.

Every number the page shows is compared with a witness computed here without the dashboard's
code: Kafka's watermarks, a MongoDB count, SQL on the warehouse, the dead-letter topic read
message by message. Then the stores are made to disagree on purpose (documents stored after
the load, messages nobody consumed) and the page must say so, with the causes. ``fitray report
--json`` must print the same numbers. The page is reached as a user reaches it: from the
dashboard's address, through its navigation (opening /health directly makes Streamlit probe
/health/_stcore/* first and log two 404s: streamlit/streamlit#7074).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fitray.clients.kafka import partition_lag
from fitray.dashboard.lite import CSP
from fitray.dead_letters import CODE_MEANINGS, DeadLetterCode
from fitray.stream.dead_letter import decode_headers
from tests.dashboard import expected
from tests.dashboard.conftest import (
    INVALID_MESSAGES,
    DashboardServer,
    Pipeline,
    RecordedPage,
    free_port,
    server_env,
    wait_until,
)

pytestmark = pytest.mark.slow
WAIT_S = 60
Messages = list[tuple[bytes | None, bytes | None]]


class HealthPage:
    """What a person does on the page and what they read from it."""

    def __init__(self, recorded: RecordedPage, server: DashboardServer) -> None:
        self.recorded, self.page, self.server = recorded, recorded.page, server

    def open(self) -> None:
        self.page.goto(self.server.url)
        self.page.get_by_role("link", name="Pipeline health").click()
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_selector(".st-key-reconcile", timeout=WAIT_S * 1000)
        self.page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=WAIT_S * 1000
        )

    def refresh(self) -> None:
        self.page.locator(".st-key-health-refresh button:visible").click()

    def stage(self, key: str) -> str:
        return self.page.locator(f".st-key-stage-{key} [data-testid='stMetricValue']").inner_text()

    def stage_text(self, key: str) -> str:
        return self.page.locator(f".st-key-stage-{key}").inner_text()

    def fresh(self, key: str) -> str:
        return self.page.locator(f".st-key-fresh-{key} [data-testid='stMetricValue']").inner_text()

    def findings(self) -> list[str]:
        alerts = self.page.locator(".st-key-reconcile [data-testid='stAlert']")
        return [text.strip() for text in alerts.all_inner_texts()]

    def table(self, key: str) -> list[list[str]]:
        return self.page.locator(f".st-key-{key} table").evaluate(
            "t => [...t.querySelectorAll('tbody tr')].map("
            "r => [...r.querySelectorAll('th, td')].map(c => c.textContent.trim()))"
        )

    def text(self) -> str:
        return self.page.locator('[data-testid="stApp"]').inner_text()


@dataclass(frozen=True)
class Witness:
    """The stores' counts, computed without the dashboard."""

    kafka: int
    mongo: int
    warehouse: int
    dead_letters: Counter[tuple[str, str]]


def witness(pipeline: Pipeline) -> Witness:
    from confluent_kafka import Consumer, TopicPartition

    s, env = pipeline.settings, pipeline.env
    probe = Consumer({"bootstrap.servers": s.kafka_bootstrap_servers, "group.id": "witness"})
    try:
        partitions = probe.list_topics(env.topic, timeout=10).topics[env.topic].partitions
        marks = [probe.get_watermark_offsets(TopicPartition(env.topic, p), 10) for p in partitions]
    finally:
        probe.close()
    letters = Counter(
        (headers["stage"], headers["code"])
        for headers in (decode_headers(m.headers()) for m in dead_letter_messages(pipeline))
    )
    (rows,) = expected.run_sql("duckdb", s, "SELECT COUNT(*) FROM exercises_enriched")[0]
    kafka = sum(high - low for low, high in marks)
    return Witness(kafka, env.collection.count_documents({}), int(rows), letters)


def dead_letter_messages(pipeline: Pipeline) -> list[Any]:
    from tests.stream.helpers import read_all

    s, env = pipeline.settings, pipeline.env
    return read_all(s.kafka_bootstrap_servers, env.dead_letter_topic, len(INVALID_MESSAGES))


def store_without_loading(pipeline: Pipeline, seed: int, count: int) -> None:
    """Publish ``count`` valid workouts and let a real consumer store them (no batch after)."""
    from fitray.stream.consumer import ConsumerWorker
    from tests.stream.helpers import enriched, publish

    s, env = pipeline.env.settings, pipeline.env
    messages: Messages = [
        (w.event_id.encode(), w.model_dump_json().encode()) for w in enriched(seed, count)
    ]
    publish(s.kafka_bootstrap_servers, env.topic, messages)
    worker = ConsumerWorker(
        s, env.topic, group_id=env.group_id, database=env.db.name,
        dead_letter_topic=env.dead_letter_topic,
    )  # fmt: skip

    def drained() -> bool:
        worker.step()
        return sum(partition_lag(s, env.group_id, env.topic).values()) == 0

    try:
        wait_until(drained, WAIT_S, "the consumer to store and commit every message")
    finally:
        worker.close()


def leave_unconsumed(pipeline: Pipeline, seed: int, count: int) -> None:
    from tests.stream.helpers import enriched, publish

    workouts = enriched(seed, count)
    messages: Messages = [(w.event_id.encode(), w.model_dump_json().encode()) for w in workouts]
    publish(pipeline.settings.kafka_bootstrap_servers, pipeline.env.topic, messages)


def report_json(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "fitray", "report", "--json"],
        env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout), done.stderr


def assert_page_shows(ui: HealthPage, want: Witness) -> None:
    wait_until(
        lambda: ui.stage("kafka") == f"{want.kafka:,}" and ui.stage("mongodb") == f"{want.mongo:,}",
        WAIT_S,
        f"Kafka {want.kafka} and MongoDB {want.mongo} on the page",
    )
    ui.settle()
    assert ui.stage("warehouse") == f"{want.warehouse:,}"
    assert ui.stage("dead-letters") == f"{sum(want.dead_letters.values()):,}"
    shown = [
        (stage, code, count, meaning) for stage, code, count, meaning in ui.table("dead-letters")
    ]
    assert shown == [
        (stage, code, f"{n:,}", CODE_MEANINGS[DeadLetterCode(code)])
        for (stage, code), n in sorted(want.dead_letters.items())
    ]


def assert_nothing_left_the_machine(recorded: RecordedPage, *servers: DashboardServer) -> None:
    assert recorded.errors == [], recorded.errors
    local = tuple(url for s in servers for url in (s.url, s.url.replace("http://", "ws://")))
    assert recorded.foreign_requests(local) == []
    assert any(url.startswith("ws://127.0.0.1") for url in recorded.requests)


def test_health_counts_match_the_stores_and_every_mismatch_is_said_plainly(
    ran_pipeline: Pipeline, dashboard_server: Any, recorded_page: RecordedPage, tmp_path: Path
) -> None:
    p = ran_pipeline
    env = server_env(p.settings)
    ui = HealthPage(recorded_page, dashboard_server(env))
    ui.open()

    want = witness(p)
    assert want.dead_letters == {("consume", "invalid_record"): len(INVALID_MESSAGES)}
    assert want.mongo == want.warehouse == p.streamed and want.kafka >= p.streamed + 4
    assert_page_shows(ui, want)
    dead = len(INVALID_MESSAGES)
    gap = want.kafka - want.mongo
    consistent = [
        f"Kafka {want.kafka:,} vs MongoDB {want.mongo:,}: {gap:,} not in MongoDB — "
        f"{dead} dead-lettered by the consumer (invalid or refused)",
        f"MongoDB {want.mongo:,} = warehouse {want.warehouse:,}: every document is loaded",
    ]
    if gap > dead:  # the stream re-sent a batch: Kafka holds duplicates MongoDB stored once
        consistent[0] = consistent[0] + f"; {gap - dead:,} unexplained"
    assert ui.findings()[1] == consistent[1] and ui.findings()[0].startswith(consistent[0])
    assert ui.table("loads")[0][3:6] == [f"{p.streamed:,}", f"{p.streamed:,}", "0"]
    assert ui.fresh("event").endswith("ago") and ui.fresh("load").endswith("ago")
    recorded_page.screenshot("health-consistent")

    store_without_loading(p, seed=901, count=6)  # stored, never loaded
    leave_unconsumed(p, seed=902, count=4)  # sent, never consumed
    ui.refresh()
    now = witness(p)
    assert (now.kafka, now.mongo, now.warehouse) == (
        want.kafka + 10,
        want.mongo + 6,
        want.warehouse,
    )
    assert_page_shows(ui, now)
    kafka_line, mongo_line = ui.findings()
    assert kafka_line.startswith(
        f"Kafka {now.kafka:,} vs MongoDB {now.mongo:,}: {now.kafka - now.mongo:,} not in MongoDB — "
        f"{dead} dead-lettered by the consumer (invalid or refused); "
        "4 not stored yet (consumer lag 4)"
    )
    assert mongo_line == (
        f"MongoDB {now.mongo:,} vs warehouse {now.warehouse:,}: 6 not loaded yet (6 stored after "
        "the last load's watermark); the next fitray batch loads them"
    )
    assert "consumer lag 4" in ui.stage_text("kafka")
    recorded_page.screenshot("health-mismatch")

    code, report, stderr = report_json(env, tmp_path)
    assert code == 0, stderr
    assert (report["kafka"]["messages"], report["kafka"]["lag"]) == (now.kafka, 4)
    assert (report["mongo"]["documents"], report["mongo"]["stored_after"]) == (now.mongo, 6)
    assert report["warehouse"]["rows"] == now.warehouse
    assert [(d["stage"], d["code"], d["count"]) for d in report["kafka"]["dead_letters"]] == [
        ("consume", "invalid_record", dead)
    ]
    assert [f["text"] for f in report["findings"]][1] == mongo_line.replace(
        "fitray batch", "`fitray batch`"
    )
    text = ui.text()
    assert "nan" not in text.lower().split() and "Traceback" not in text
    assert_nothing_left_the_machine(recorded_page, ui.server)

    said = ui.findings()
    lite = dashboard_server(env, "--lite")  # the same numbers, drawn on the server
    page = recorded_page.page
    page.goto(lite.url)
    page.get_by_role("link", name="Pipeline health").click()
    page.wait_for_url(f"{lite.url}health")
    stages = {key: page.locator(f'[data-stage="{key}"] .value').inner_text()
              for key in ("kafka", "mongodb", "warehouse", "dead-letters")}  # fmt: skip
    assert stages == {"kafka": f"{now.kafka:,}", "mongodb": f"{now.mongo:,}",
                      "warehouse": f"{now.warehouse:,}", "dead-letters": f"{dead:,}"}  # fmt: skip
    assert "consumer lag 4" in page.locator('[data-stage="kafka"]').inner_text()
    assert page.locator("li.finding").all_inner_texts() == said
    rows = page.locator('table[data-table="dead-letters"] tr').all_inner_texts()[1:]
    assert [row.split("\t") for row in rows] == [
        ["consume", "invalid_record", f"{dead:,}", CODE_MEANINGS[DeadLetterCode.INVALID_RECORD]]
    ]
    first_load = page.locator('table[data-table="loads"] tr').nth(1).inner_text().split("\t")
    assert first_load[3:6] == [f"{p.streamed:,}", f"{p.streamed:,}", "0"]
    for key in ("event", "load"):
        assert page.locator(f'[data-fresh="{key}"] .value').inner_text().endswith("ago")
    assert "<script" not in page.content().lower()
    recorded_page.screenshot("lite-health-mismatch")
    response = page.goto(f"{lite.url}health?hours=2")  # a window typed in hours
    assert response.status == 200 and response.headers["content-security-policy"] == CSP
    assert page.locator("p.fresh").inner_text().startswith("Events of the last 2 h:")
    assert recorded_page.errors == []
    assert recorded_page.foreign_requests((ui.server.url, "ws://127.0.0.1", lite.url)) == []


def test_unreachable_stores_are_one_line_each_naming_the_setting(
    stack: Any, tmp_path: Path, dashboard_server: Any, recorded_page: RecordedPage
) -> None:
    port = free_port()  # nothing listens there
    env = {
        "FITRAY_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "FITRAY_MONGO_URL": f"mongodb://fitray:s3cret-pw@127.0.0.1:{port}/",
        "FITRAY_WAREHOUSE_BACKEND": "postgres",
        "FITRAY_POSTGRES_PORT": str(port),
    }
    ui = HealthPage(recorded_page, dashboard_server(env))
    ui.open()
    settings = {
        "kafka": "FITRAY_KAFKA_BOOTSTRAP_SERVERS",
        "mongodb": "FITRAY_MONGO_URL",
        "warehouse": "FITRAY_POSTGRES_PORT",
    }
    for stage, setting in settings.items():
        line = ui.page.locator(f".st-key-state-{stage}").inner_text().strip()
        assert "not reachable" in line and setting in line and "\n" not in line, line
    assert ui.page.locator(".st-key-state-dead-letters").inner_text().strip() == (
        "not read: Kafka is not reachable"
    )
    for key, label in (("fresh-event", "Newest loaded event"), ("fresh-load", "Last load")):
        shown = ui.page.locator(f".st-key-state-{key}").inner_text().strip()
        assert shown == f"{label}: not read: the warehouse is not reachable"
    not_compared = [
        "Kafka vs MongoDB: not compared (Kafka and MongoDB unreadable)",
        "MongoDB vs warehouse: not compared (MongoDB and warehouse unreadable)",
    ]
    assert ui.findings() == not_compared
    text = ui.text()
    assert "s3cret-pw" not in text and "Traceback" not in text and "nan" not in text.split()
    recorded_page.screenshot("health-unreachable")
    assert_nothing_left_the_machine(recorded_page, ui.server)

    lite = dashboard_server(env, "--lite")
    response = ui.page.goto(f"{lite.url}health")
    assert response.status == 200  # the page stands; each store says what to fix
    for stage, setting in settings.items():
        line = ui.page.locator(f'[data-stage="{stage}"] .state').inner_text().strip()
        assert "not reachable" in line and setting in line and "\n" not in line, line
    assert ui.page.locator('[data-stage="dead-letters"] .state').inner_text() == (
        "not read: Kafka is not reachable"
    )
    assert ui.page.locator("li.finding").all_inner_texts() == not_compared
    assert "s3cret-pw" not in ui.page.content() and "Traceback" not in ui.page.content()
    recorded_page.screenshot("lite-health-unreachable")

    done = subprocess.run(
        [sys.executable, "-m", "fitray", "report"],
        env={**os.environ, **env, "COLUMNS": "300"}, cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    errors = done.stderr.strip().splitlines()
    assert (
        done.returncode == 1
        and len(errors) == 1
        and errors[0].startswith("error: report incomplete")
    )
    for setting in settings.values():
        assert setting in errors[0]
    assert "s3cret-pw" not in done.stdout + done.stderr and "Traceback" not in done.stderr
