"""Apache Kafka, KRaft single node: jars from Maven Central, run on the JDK.

Maven resolves ``kafka_2.13`` and a log4j2 binding into ``<cache>/kafka-<version>/libs`` once;
the storage is formatted once (``kafka.tools.StorageTool``); the broker runs as
``java -cp 'libs/*' kafka.Kafka server.properties`` with broker and controller in one process.
"""

from __future__ import annotations

import base64
import shutil
import time
import uuid
from importlib import resources
from pathlib import Path

from fitray.clients.kafka import ensure_topics
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.process import require_tool, run_checked

__all__ = ["KafkaService", "new_cluster_id"]

HEALTH_TOPIC = "_fitray_health"


class KafkaService(Service):
    name = "kafka"
    startup_timeout_s = 90.0
    port_setting = "FITRAY_KAFKA_BOOTSTRAP_SERVERS / FITRAY_KAFKA_CONTROLLER_PORT"

    @property
    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    @property
    def where(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def libs_dir(self) -> Path:
        return self.settings.cache_dir / f"kafka-{self.settings.kafka_version}" / "libs"

    def install(self) -> None:
        java_hint = "install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
        require_tool("java", java_hint)
        if any(self.libs_dir.glob("kafka_2.13-*.jar")):
            return
        mvn = require_tool("mvn", "install Maven (Debian: apt-get install maven)")
        build_dir = self.libs_dir.parent
        build_dir.mkdir(parents=True, exist_ok=True)
        pom = resources.files("fitray.stack.kafka_build").joinpath("pom.xml").read_text()
        (build_dir / "pom.xml").write_text(
            pom.replace("@KAFKA_VERSION@", self.settings.kafka_version)
        )
        staging = build_dir / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        run_checked(
            [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={staging}"],
            what=f"fetching Kafka {self.settings.kafka_version} jars with Maven",
            log_path=self.files.log_path,
            timeout_s=600,
            cwd=build_dir,
        )
        staging.rename(self.libs_dir)  # only a complete download counts as installed

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._server_properties())
        log4j = self.data_dir / "log4j2.properties"
        log4j.write_text(
            resources.files("fitray.stack.kafka_build").joinpath("log4j2.properties").read_text()
        )
        java = require_tool("java", "install a JDK 17+")
        classpath = f"{self.libs_dir}/*"
        jvm = [
            java,
            f"-Xmx{self.settings.kafka_heap_mb}m",
            f"-Xms{self.settings.kafka_heap_mb // 2}m",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            classpath,
        ]
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = new_cluster_id()
            run_checked(
                [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
                what="formatting Kafka storage",
                log_path=self.files.log_path,
                timeout_s=120,
            )
        self.files.spawn([*jvm, "kafka.Kafka", str(config)])

    def _server_properties(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data_dir / 'logs'}",
                f"num.partitions={s.kafka_partitions}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=6",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "",
            ]
        )

    def after_healthy(self) -> None:
        s = self.settings
        ensure_topics(
            s.kafka_bootstrap_servers,
            [s.kafka_raw_topic, s.kafka_enriched_topic, s.kafka_dead_letter_topic],
            partitions=s.kafka_partitions,
        )

    def check(self) -> str:
        from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient

        bootstrap = self.settings.kafka_bootstrap_servers
        admin = AdminClient(
            {"bootstrap.servers": bootstrap, "socket.timeout.ms": 2000, "log_level": 0}
        )
        try:
            metadata = admin.list_topics(timeout=3)
        except KafkaException as exc:
            raise StackError(f"Kafka at {bootstrap} not reachable: {exc.args[0]}") from None
        if HEALTH_TOPIC not in metadata.topics:
            ensure_topics(bootstrap, [HEALTH_TOPIC], partitions=1)
        token = uuid.uuid4().hex.encode()
        started = time.monotonic()
        producer = Producer(
            {"bootstrap.servers": bootstrap, "message.timeout.ms": 5000, "log_level": 0}
        )
        delivered: list = []
        producer.produce(
            HEALTH_TOPIC, token, on_delivery=lambda err, msg: delivered.append((err, msg))
        )
        producer.flush(6)
        if not delivered or delivered[0][0] is not None:
            raise StackError(
                f"Kafka produce failed: {delivered[0][0] if delivered else 'no delivery report'}"
            )
        offset = delivered[0][1].offset()
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "fitray-health",
                "enable.auto.commit": False,
                "log_level": 0,
            }
        )
        try:
            consumer.assign([TopicPartition(HEALTH_TOPIC, 0, offset)])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is not None and message.error() is None and message.value() == token:
                    elapsed_ms = (time.monotonic() - started) * 1000
                    topics = len(metadata.topics)
                    return f"produce/consume round trip {elapsed_ms:.0f} ms, {topics} topics"
        finally:
            consumer.close()
        raise StackError("Kafka accepted a message but it could not be consumed back within 10s")


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64. Like Kafka's own ``Uuid``, never
    one that starts with '-', which the storage tool's argument parser takes for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
