"""Kafka: the one place that builds confluent-kafka configurations, the admin client
(topics), and reads a consumer group's lag.

Producer settings, justified:

* ``enable.idempotence`` (implies ``acks=all``, ordered retries): a retried send never
  writes a second copy of a message within the producer's session;
* ``compression.type=lz4`` by default: the JSON records compress ~3x at little CPU cost
  (zstd compresses more but costs more CPU on a 2-core machine);
* ``linger.ms=10`` and ``batch.size=1 MB``: enrichment hands over hundreds of records at
  once, so a short linger already fills large batches; longer buys nothing but latency;
* ``delivery.timeout.ms=120 s``: librdkafka keeps retrying through a broker restart.

Consumer prefetch, bounded: librdkafka fetches ahead of the application into a local queue,
by default until it holds 100,000 messages or 64 MB. A consumer behind its partitions (lag)
therefore holds the backlog in memory: a soak at 1,200 events/s saw each consumer actor grow
by ~52 MB while its lag grew to ~63,000 messages. ``CONSUMER_PREFETCH_KBYTES`` and
``CONSUMER_PREFETCH_MESSAGES`` keep a few poll batches ahead instead (a fetch may overshoot by
one response); the backlog waits in Kafka, where it belongs. Plain consume() still reads
~100k messages/s with it, far above what a consumer stores; ``fetch.queue.backoff.ms`` lets
a held-back fetcher resume within 0.1 s instead of 1 s.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fitray.config import Settings
from fitray.exceptions import FitrayError, ServiceUnavailable

Record = tuple[str | bytes | None, bytes]  # (key, value)
CONSUMER_PREFETCH_KBYTES = 4096  # librdkafka's default: 65,536
CONSUMER_PREFETCH_MESSAGES = 10_000  # librdkafka's default: 100,000

__all__ = [
    "CONSUMER_PREFETCH_KBYTES",
    "CONSUMER_PREFETCH_MESSAGES",
    "Record",
    "admin_client",
    "consumer_config",
    "deliver",
    "ensure_topics",
    "partition_lag",
    "producer_config",
]


class _AtDebug(logging.LoggerAdapter):  # type: ignore[type-arg]
    """librdkafka's own lines ("Connect ... failed", every 50 ms while a broker is away) at
    DEBUG: what a run waits for is said once, by the run, with the setting to check."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        self.logger.log(logging.DEBUG, msg, *args, **kwargs)


LIBRDKAFKA_LOG = _AtDebug(logging.getLogger("fitray.librdkafka"), {})


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": settings.kafka_compression,
        "linger.ms": settings.kafka_linger_ms,
        "batch.size": settings.kafka_batch_bytes,
        "delivery.timeout.ms": settings.kafka_delivery_timeout_ms,
        "queue.buffering.max.messages": 200_000,
        "log_level": 3,
        "logger": LIBRDKAFKA_LOG,
        **overrides,
    }


def consumer_config(settings: Settings, group_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": False,  # offsets are committed only after the write is acked
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "range",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
        "queued.max.messages.kbytes": CONSUMER_PREFETCH_KBYTES,
        "queued.min.messages": CONSUMER_PREFETCH_MESSAGES,
        "fetch.queue.backoff.ms": 100,
        "log_level": 3,
        "logger": LIBRDKAFKA_LOG,
        **overrides,
    }


def partition_lag(
    settings: Settings, group_id: str, topic: str, *, timeout_s: float = 10.0
) -> dict[int, int]:
    """Messages not yet committed by ``group_id``, per partition (high watermark - committed);
    each broker request waits at most ``timeout_s``."""
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer(consumer_config(settings, group_id))
    try:
        partitions = probe.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        wanted = [TopicPartition(topic, p) for p in sorted(partitions)]
        committed = {tp.partition: tp.offset for tp in probe.committed(wanted, timeout=timeout_s)}
        lag = {}
        for tp in wanted:
            low, high = probe.get_watermark_offsets(tp, timeout=timeout_s)
            done = committed[tp.partition]
            lag[tp.partition] = high - (done if done >= 0 else low)
        return lag
    finally:
        probe.close()


def admin_client(bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})


def ensure_topics(bootstrap: str, topics: list[str], *, partitions: int) -> list[str]:
    """Create the topics that are missing; returns the ones created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    admin = admin_client(bootstrap)
    try:
        existing = admin.list_topics(timeout=5).topics
    except KafkaException as exc:
        raise ServiceUnavailable(
            f"Kafka not reachable at {bootstrap} (FITRAY_KAFKA_BOOTSTRAP_SERVERS): "
            f"{exc.args[0].str()}; start it with `fitray stack up kafka` or fix the setting"
        ) from None
    missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
    created = []
    for topic, future in admin.create_topics(missing).items() if missing else ():
        try:
            future.result(timeout=15)
            created.append(topic)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise FitrayError(
                    f"cannot create Kafka topic {topic}: {exc.args[0].str()}"
                ) from None
    return created


def deliver(
    producer: Any, topic: str, records: list[Record], headers: list[Any] | None = None
) -> list[tuple[Record, Any]]:
    """Produce every record and wait for all delivery reports; returns the failed ones with
    their KafkaError. A full local queue is waited out (serving reports), never dropped."""
    pending, failed, lock = [len(records)], [], threading.Lock()

    def report(index: int) -> Any:
        def on_delivery(err: Any, _msg: Any) -> None:
            with lock:
                pending[0] -= 1
                if err is not None:
                    failed.append((records[index], err))

        return on_delivery

    for i, (key, value) in enumerate(records):
        kwargs = {"headers": headers[i]} if headers else {}
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=report(i), **kwargs)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                producer.poll(0.05)
    while pending[0] > 0:
        producer.poll(0.05)
    return failed
