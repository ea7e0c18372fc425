"""Dead letters read back: listed by stage and code, and replayed into the raw topic.

Reading takes the dead-letter topic from the start (or from ``since``, by message time) up to
its end at the moment of reading, with no consumer group commits: listing never changes what
the next listing sees. Replaying re-publishes a letter's workout -- the raw fields of whatever
it carries (a raw workout, an enriched one, a stored document) -- to the raw topic, keyed by
its event_id, with a header naming where it came from. It is idempotent: the event_id is the
same, so a workout replayed twice is stored once (the second is a duplicate the sink skips).
A letter whose payload is not a valid workout (``invalid_record``) cannot be replayed: it is
counted, with the reason, not dropped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fitray.clients.kafka import Record, consumer_config, deliver, producer_config
from fitray.config import Settings
from fitray.schema import RAW_WORKOUT_SCHEMA, InvalidRecord, RawWorkout, parse_raw
from fitray.stream.dead_letter import HEADER_PREFIX, decode_headers
from fitray.stream.exceptions import BrokerUnavailable

__all__ = ["DeadLetterMessage", "read_dead_letters", "replay", "to_raw_workout"]

READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DeadLetterMessage:
    stage: str
    code: str
    reason: str
    key: str | None
    value: bytes
    partition: int
    offset: int
    at: datetime  # when it was dead-lettered (the message's timestamp)


def read_dead_letters(
    settings: Settings,
    topic: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[DeadLetterMessage]:
    """Every dead letter of ``topic`` in [since, until), in partition order."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    group = f"fitray-dead-letters-{uuid.uuid4().hex[:8]}"  # never commits: reading is harmless
    consumer = Consumer(consumer_config(settings, group))
    try:
        partitions = consumer.list_topics(topic, timeout=READ_TIMEOUT_S).topics[topic].partitions
        for partition in sorted(partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=READ_TIMEOUT_S
            )
            start = OFFSET_BEGINNING
            if since is not None:
                start = _offset_at(consumer, topic, partition, since)
            if high <= low or start in (-1, high):  # empty, or nothing since ``since``
                continue
            consumer.assign([TopicPartition(topic, partition, start)])
            yield from _read_partition(consumer, high, until)
    finally:
        consumer.close()


def _offset_at(consumer: Any, topic: str, partition: int, when: datetime) -> int:
    from confluent_kafka import TopicPartition

    wanted = TopicPartition(topic, partition, int(when.timestamp() * 1000))
    (found,) = consumer.offsets_for_times([wanted], timeout=READ_TIMEOUT_S)
    return int(found.offset) if found.offset >= 0 else -1


def _read_partition(
    consumer: Any, high: int, until: datetime | None
) -> Iterator[DeadLetterMessage]:
    while True:
        messages = consumer.consume(500, READ_TIMEOUT_S)
        if not messages:
            return
        for message in messages:
            if message.error() is not None:
                continue
            letter = _letter(message)
            if until is None or letter.at < until:
                yield letter
            if message.offset() >= high - 1:
                return


def _letter(message: Any) -> DeadLetterMessage:
    headers = decode_headers(message.headers())
    key = message.key()
    millis = message.timestamp()[1]
    return DeadLetterMessage(
        stage=headers.get("stage", "?"),
        code=headers.get("code", "?"),
        reason=headers.get("reason", ""),
        key=key.decode("utf-8", "replace") if key else None,
        value=message.value() or b"",
        partition=message.partition(),
        offset=message.offset(),
        at=datetime.fromtimestamp(millis / 1000, UTC),
    )


def to_raw_workout(letter: DeadLetterMessage) -> RawWorkout:
    """The workout a letter carries, as a raw workout; raises :class:`InvalidRecord` if none."""
    try:
        data = json.loads(letter.value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRecord("the dead letter's payload is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidRecord("the dead letter's payload is not a JSON object")
    return parse_raw({name: data.get(name) for name in RAW_WORKOUT_SCHEMA.names})


def replay(
    settings: Settings, letters: list[DeadLetterMessage], raw_topic: str, source_topic: str
) -> tuple[int, dict[str, int]]:
    """Publish the letters' workouts to ``raw_topic``; returns (replayed, not replayable by
    reason). Returns only once Kafka acknowledged every record."""
    from confluent_kafka import Producer

    records: list[Record] = []
    headers: list[list[tuple[str, bytes]]] = []
    skipped: dict[str, int] = {}
    for letter in letters:
        try:
            workout = to_raw_workout(letter)
        except InvalidRecord as exc:
            skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
            continue
        records.append((workout.event_id, workout.model_dump_json().encode()))
        origin = f"{source_topic}:{letter.partition}:{letter.offset}"
        headers.append([(f"{HEADER_PREFIX}replayed_from", origin.encode())])
    if records:
        producer = Producer(producer_config(settings))
        failed = deliver(producer, raw_topic, records, headers)
        if failed:
            raise BrokerUnavailable(
                f"{len(failed)} replayed workout(s) not delivered to {raw_topic}: {failed[0][1]}; "
                "replaying again is harmless (same event_ids)"
            )
    return len(records), skipped
