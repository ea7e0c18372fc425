"""Kafka's side of the pipeline-health page: messages in a time window, the stream consumer
group's lag, and dead letters by stage and code.

Message counts come from offsets, not from reading messages: per partition, the first offset
at or after the window's start (``offsets_for_times``, on Kafka's message timestamp, i.e. when
the producer sent it) up to the high watermark. Only dead letters are read, for their headers,
with a cap and a deadline. The reader assigns partitions itself: it never joins a consumer
group and never commits. Every broker call has a timeout; an unreachable broker becomes one
line naming the setting to fix.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fitray.clients.kafka import consumer_config, partition_lag
from fitray.config import Settings
from fitray.stream.dead_letter import decode_headers

__all__ = [
    "BROKER_TIMEOUT_S",
    "DEAD_LETTER_CAP",
    "DeadLetterCount",
    "KafkaCounts",
    "read_kafka",
]

BROKER_TIMEOUT_S = 5.0  # each metadata/offset request
DEAD_LETTER_READ_S = 10.0  # reading the dead-letter topic's window, all partitions
DEAD_LETTER_CAP = 100_000  # dead letters read at most; beyond, the count says "at least"
READER_GROUP = "fitray-health-reader"  # required by librdkafka; never joined, never committed
UNKNOWN = "unknown"  # a dead letter without fitray's headers
Ranges = dict[int, tuple[int, int]]  # partition -> (first offset in the window, high watermark)


@dataclass(frozen=True)
class DeadLetterCount:
    stage: str
    code: str
    count: int


@dataclass(frozen=True)
class KafkaCounts:
    """What the broker holds for the window; ``problem`` is set instead when it cannot say."""

    bootstrap: str
    topic: str
    dead_letter_topic: str
    group: str
    messages: int | None = None
    lag: int | None = None  # messages of the window the group has not committed yet
    dead_letters: tuple[DeadLetterCount, ...] = ()
    dead_letters_complete: bool = True  # False: the cap or the deadline stopped the read
    missing_topics: tuple[str, ...] = ()  # not created yet: nothing was ever produced there
    problem: str | None = None

    @property
    def dead_letter_total(self) -> int:
        return sum(letter.count for letter in self.dead_letters)


def read_kafka(settings: Settings, since: datetime) -> KafkaCounts:
    """Counts for messages sent at or after ``since``; never raises for a broker problem."""
    from confluent_kafka import Consumer, KafkaException

    counts = KafkaCounts(
        settings.kafka_bootstrap_servers,
        settings.kafka_enriched_topic,
        settings.kafka_dead_letter_topic,
        settings.stream_consumer_group,
    )
    reader = Consumer(_reader_config(settings))
    try:
        return _read(settings, reader, counts, since)
    except KafkaException as exc:
        return replace(counts, problem=_unreachable(settings, exc.args[0]))
    finally:
        reader.close()


def _read(settings: Settings, reader: Any, counts: KafkaCounts, since: datetime) -> KafkaCounts:
    missing: list[str] = []
    enriched = _ranges(reader, counts.topic, since, missing)
    letters = _ranges(reader, counts.dead_letter_topic, since, missing)
    per_partition = {p: high - first for p, (first, high) in enriched.items()}
    lag = 0
    if enriched:  # lag of the window: the uncommitted messages are the newest ones
        behind = partition_lag(settings, counts.group, counts.topic)
        lag = sum(min(behind.get(p, 0), n) for p, n in per_partition.items())
    by_code, complete = _read_dead_letters(reader, counts.dead_letter_topic, letters)
    return replace(
        counts,
        messages=sum(per_partition.values()),
        lag=lag,
        dead_letters=tuple(
            DeadLetterCount(stage, code, n) for (stage, code), n in sorted(by_code.items())
        ),
        dead_letters_complete=complete,
        missing_topics=tuple(missing),
    )


def _reader_config(settings: Settings) -> dict[str, Any]:
    return consumer_config(
        settings,
        READER_GROUP,
        log_level=0,  # an unreachable broker is reported once, as a line, not logged per retry
        **{"socket.timeout.ms": int(BROKER_TIMEOUT_S * 1000), "enable.partition.eof": False},
    )


def _ranges(reader: Any, topic: str, since: datetime, missing: list[str]) -> Ranges:
    """Per partition, the window's first offset and the high watermark ({} for no topic)."""
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    metadata = reader.list_topics(topic, timeout=BROKER_TIMEOUT_S).topics.get(topic)
    if metadata is None or metadata.error is not None:
        if metadata is not None and metadata.error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise KafkaException(metadata.error)
        missing.append(topic)
        return {}
    start_ms = int(since.timestamp() * 1000)
    wanted = [TopicPartition(topic, p, start_ms) for p in sorted(metadata.partitions)]
    found = reader.offsets_for_times(wanted, timeout=BROKER_TIMEOUT_S)
    ranges: Ranges = {}
    for tp in found:
        if tp.error is not None:
            raise KafkaException(tp.error)
        marks = reader.get_watermark_offsets(tp, timeout=BROKER_TIMEOUT_S)
        if marks is None:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "watermark offsets"))
        high = marks[1]
        ranges[tp.partition] = (high if tp.offset < 0 else tp.offset, high)  # -1: none since
    return ranges


def _read_dead_letters(
    reader: Any, topic: str, ranges: Ranges
) -> tuple[Counter[tuple[str, str]], bool]:
    """(stage, code) -> count over the window, reading headers until each partition's high
    watermark as it was when the window was measured; False if the cap or deadline hit first."""
    from confluent_kafka import TopicPartition

    todo = {p: high for p, (first, high) in ranges.items() if high > first}
    counts: Counter[tuple[str, str]] = Counter()
    if not todo:
        return counts, True
    reader.assign([TopicPartition(topic, p, ranges[p][0]) for p in todo])
    deadline, read = time.monotonic() + DEAD_LETTER_READ_S, 0
    while todo and read < DEAD_LETTER_CAP and time.monotonic() < deadline:
        for message in reader.consume(500, timeout=0.5):
            partition = message.partition()
            if message.error() or partition not in todo or message.offset() >= todo[partition]:
                continue
            headers = decode_headers(message.headers())
            counts[(headers.get("stage", UNKNOWN), headers.get("code", UNKNOWN))] += 1
            read += 1
            if message.offset() + 1 >= todo[partition]:
                del todo[partition]
    reader.unassign()
    return counts, not todo


def _unreachable(settings: Settings, error: Any) -> str:
    text = error.str() if hasattr(error, "str") else str(error)
    return (
        f"Kafka at {settings.kafka_bootstrap_servers} not reachable within "
        f"{BROKER_TIMEOUT_S:g} s ({text}); check FITRAY_KAFKA_BOOTSTRAP_SERVERS"
    )
