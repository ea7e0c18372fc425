"""Sources of raw workouts: a seeded generator (like the original) and the raw Kafka topic.

Both hand out :class:`SourceBatch` es of hundreds of workouts. Every workout has its
``event_id`` from the source: the generator derives it from (seed, sequence number) with
uuid5, so re-running a seed -- or retrying any later stage -- never makes a second event.
The raw-topic source commits its offsets only when told a batch is safely in the enriched
topic (:meth:`RawTopicSource.acknowledge`), in order, so a crash re-reads, never skips.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fitray.clients.kafka import consumer_config
from fitray.config import Settings
from fitray.dead_letters import DeadLetterCode, Stage
from fitray.exercises import read_exercises
from fitray.schema import InvalidRecord, RawWorkout, parse_raw
from fitray.stream.dead_letter import DeadLetterRecord

__all__ = ["EVENT_NAMESPACE", "RawTopicSource", "SourceBatch", "WorkoutGenerator", "event_id"]

EVENT_NAMESPACE = uuid.UUID("5b0f3c1e-6d2a-4a57-9a3e-2f7c1c0de001")


_EVENT_SHA1 = hashlib.sha1(EVENT_NAMESPACE.bytes)  # uuid5's hash, the namespace already in


def event_id(seed: int, sequence: int) -> str:
    """The stable id of the ``sequence``-th workout of a run seeded with ``seed``: exactly
    ``str(uuid.uuid5(EVENT_NAMESPACE, f"{seed}:{sequence}"))``, in a third of its time (no
    UUID object, the namespace hashed once); a generator makes one per workout."""
    digest = _EVENT_SHA1.copy()
    digest.update(f"{seed}:{sequence}".encode())
    b = bytearray(digest.digest()[:16])
    b[6], b[8] = b[6] & 0x0F | 0x50, b[8] & 0x3F | 0x80  # version 5, RFC 4122 variant
    x = b.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass
class SourceBatch:
    workouts: list[RawWorkout]
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read


class WorkoutGenerator:
    """Random workouts: a title from the exercise CSV, 50-500 lb, 1-120 min, timestamp now.

    Stops after ``count`` workouts or ``duration_s`` seconds (whichever first; neither means
    forever); ``rate_per_s`` paces the output, ``None`` means as fast as possible.
    """

    def __init__(
        self,
        titles: list[str],
        *,
        seed: int = 0,
        count: int | None = None,
        duration_s: float | None = None,
        rate_per_s: float | None = None,
    ) -> None:
        if not titles:
            raise ValueError("no exercise titles to draw workouts from")
        self.titles, self.seed, self.count = titles, seed, count
        self.duration_s, self.rate_per_s = duration_s, rate_per_s
        self.generated = 0
        self._random = random.Random(seed)
        self._started: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> WorkoutGenerator:
        return cls(read_exercises(settings.exercises_file)["title"].to_pylist(), **options)

    def batches(self, size: int) -> Iterator[SourceBatch]:
        self._started = started = time.monotonic()
        while not self._exhausted(started):
            n = size if self.count is None else min(size, self.count - self.generated)
            self._pace(started, n)
            yield SourceBatch([self._next() for _ in range(n)])

    def due_in(self, size: int) -> float:
        """Seconds until the next batch of ``size`` is due at ``rate_per_s`` (0: due now, or
        not paced). A driver serving other work asks first instead of sleeping in ``next()``."""
        if not self.rate_per_s or self._started is None or self._exhausted(self._started):
            return 0.0  # not paced, not started (its clock starts in the first next()), or done
        n = size if self.count is None else min(size, self.count - self.generated)
        due = self._started + (self.generated + n) / self.rate_per_s
        return max(0.0, due - time.monotonic())

    def acknowledge(self, batch: SourceBatch) -> None:
        """Nothing to commit: re-running the seed regenerates the same event_ids."""

    def close(self) -> None:
        pass

    def _exhausted(self, started: float) -> bool:
        if self.count is not None and self.generated >= self.count:
            return True
        return self.duration_s is not None and time.monotonic() - started >= self.duration_s

    def _pace(self, started: float, n: int) -> None:
        if self.rate_per_s:
            due = started + (self.generated + n) / self.rate_per_s
            time.sleep(max(0.0, due - time.monotonic()))

    def _next(self) -> RawWorkout:
        sequence, rnd = self.generated, self._random
        self.generated += 1
        return RawWorkout(
            event_id=event_id(self.seed, sequence),
            title=rnd.choice(self.titles),
            weight_lb=float(rnd.randint(50, 500)),
            duration_min=float(rnd.randint(1, 120)),
            event_time=datetime.now(UTC),
        )


class RawTopicSource:
    """Raw workouts published by applications; invalid ones become dead letters at once."""

    def __init__(self, settings: Settings, topic: str, group_id: str, *, idle_stop_s: float = 0):
        self.settings, self.topic, self.group_id = settings, topic, group_id
        self.idle_stop_s = idle_stop_s  # > 0: stop after this long without a message
        self._consumer: Any = None
        self._stopping = threading.Event()

    def batches(self, size: int) -> Iterator[SourceBatch]:
        """Batches as they come; an empty batch when a poll found nothing, so the caller can
        tend the work it has in flight instead of waiting here for input. Idle time is only
        time spent in polls that found nothing (not time the caller took between batches)."""
        from confluent_kafka import Consumer

        self._consumer = Consumer(consumer_config(self.settings, self.group_id))
        self._consumer.subscribe([self.topic])
        idle_s = 0.0
        while not self._stopping.is_set() and not (self.idle_stop_s and idle_s >= self.idle_stop_s):
            polled_at = time.monotonic()
            messages = self._consumer.consume(size, self.settings.stream_poll_timeout_s)
            batch = self._to_batch([m for m in messages if m.error() is None])
            idle_s = 0.0 if batch.offsets else idle_s + time.monotonic() - polled_at
            yield batch

    def due_in(self, size: int) -> float:
        """Always due: what applications published is read as it comes."""
        return 0.0

    def stop(self) -> None:
        """End :meth:`batches` within one poll timeout (a run being stopped does not wait for
        the idle timeout); safe from another thread."""
        self._stopping.set()

    def acknowledge(self, batch: SourceBatch) -> None:
        """The batch is in the enriched topic: its raw offsets may be committed."""
        from confluent_kafka import TopicPartition

        offsets = [TopicPartition(t, p, o) for (t, p), o in batch.offsets.items()]
        if offsets and self._consumer is not None:
            self._consumer.commit(offsets=offsets, asynchronous=False)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def _to_batch(self, messages: list[Any]) -> SourceBatch:
        batch = SourceBatch([])
        for m in messages:
            batch.offsets[(m.topic(), m.partition())] = m.offset() + 1
            try:
                batch.workouts.append(parse_raw(m.value() or b""))
            except InvalidRecord as exc:
                batch.dead_letters.append(
                    DeadLetterRecord(
                        m.value() or b"",
                        Stage.SOURCE,
                        exc.reason,
                        DeadLetterCode.INVALID_RECORD,
                        source_topic=m.topic(),
                        source_partition=m.partition(),
                        source_offset=m.offset(),
                    )
                )
        return batch
