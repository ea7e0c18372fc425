"""The Kafka producer actor: enriched batches in, delivered (or dead-lettered) records out.

:meth:`BatchProducer.send` returns only when Kafka has acknowledged every record of the
batch (``acks=all``, idempotent producer; settings in :mod:`fitray.stream.kafka`), so the
caller's count of unacknowledged batches is a true bound on memory. A record whose delivery
fails is produced again up to ``stream_produce_attempts`` times (librdkafka already retried
it for ``delivery.timeout.ms``), then dead-lettered with its reason; a record Kafka refuses
outright (too large) is dead-lettered at once. Concurrent ``send`` calls share the producer,
which is thread-safe; each waits for its own delivery reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fitray.config import Settings
from fitray.stream.dead_letter import DeadLetterRecord
from fitray.stream.exceptions import BrokerUnavailable
from fitray.stream.kafka import producer_config
from fitray.stream.metrics import StreamMetrics

if TYPE_CHECKING:
    from fitray.stream.enrich import EnrichedBatch

__all__ = ["BatchProducer", "ProduceReport", "Record"]

Record = tuple[str | bytes | None, bytes]  # (key, value)
_TERMINAL = {"MSG_SIZE_TOO_LARGE", "INVALID_RECORD", "_MSG_SIZE_TOO_LARGE"}


@dataclass
class ProduceReport:
    enriched: int = 0
    produced: int = 0
    retried: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)  # stage -> count

    @property
    def dead_lettered(self) -> int:
        return sum(self.dead_letters.values())


class _Deliveries:
    """Delivery reports of one send(): which records failed, and when all have reported."""

    def __init__(self, expected: int) -> None:
        self.pending = expected
        self.failed: list[tuple[int, Any]] = []
        self._lock = threading.Lock()

    def callback(self, index: int) -> Any:
        def on_delivery(err: Any, _msg: Any) -> None:
            with self._lock:
                self.pending -= 1
                if err is not None:
                    self.failed.append((index, err))

        return on_delivery


class BatchProducer:
    """Produces batches to ``topic`` and dead letters to ``dead_letter_topic``; lazy connect."""

    def __init__(self, settings: Settings, topic: str, dead_letter_topic: str) -> None:
        self.settings, self.topic, self.dead_letter_topic = settings, topic, dead_letter_topic
        self._producer: Any = None
        self._metrics = StreamMetrics("produce")

    def send(
        self,
        records: Sequence[Record],
        dead_letters: Sequence[DeadLetterRecord] = (),
    ) -> ProduceReport:
        report = ProduceReport()
        started = time.perf_counter()
        todo, attempt = list(records), 0
        while todo:
            attempt += 1
            failed = self._deliver(self.topic, todo)
            report.produced += len(todo) - len(failed)
            todo = []
            for record, err in failed:
                if _terminal(err) or attempt >= self._attempts:
                    dead_letters = [*dead_letters, self._dead_letter(record, err)]
                else:
                    todo.append(record)
            report.retried += len(todo)
        self.send_dead_letters(dead_letters, report)
        self._metrics.batch(len(records), report.produced, time.perf_counter() - started)
        return report

    def send_enriched(
        self,
        batch: EnrichedBatch,
        source_dead_letters: Sequence[DeadLetterRecord] = (),
    ) -> ProduceReport:
        """An enrichment actor's output (passed by reference) plus the source's dead letters."""
        report = self.send(batch.records, [*source_dead_letters, *batch.dead_letters])
        report.enriched = len(batch.records)
        return report

    def send_dead_letters(self, letters: Sequence[DeadLetterRecord], report: ProduceReport) -> None:
        """Dead letters must arrive too: a failure here is transient for the whole call."""
        limit = self.settings.stream_dead_letter_max_bytes
        records = [(d.key, d.payload(limit)) for d in letters]
        headers = [d.headers(limit) for d in letters]
        failed = self._deliver(self.dead_letter_topic, records, headers)
        if failed:
            raise BrokerUnavailable(
                f"{len(failed)} dead letter(s) not delivered to {self.dead_letter_topic}: "
                f"{failed[0][1]}"
            )
        for letter in letters:
            report.dead_letters[letter.stage] = report.dead_letters.get(letter.stage, 0) + 1
        self._metrics.dead_letters(letters)

    def flush(self, timeout_s: float = 30.0) -> int:
        """Deliver whatever is queued; returns how many messages are still undelivered."""
        return 0 if self._producer is None else self._producer.flush(timeout_s)

    close = flush

    @property
    def _attempts(self) -> int:
        return self.settings.stream_produce_attempts

    def _client(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(producer_config(self.settings))
        return self._producer

    def _deliver(
        self, topic: str, records: list[Record], headers: list[Any] | None = None
    ) -> list[tuple[Record, Any]]:
        """Produce every record and wait for all delivery reports; returns the failures."""
        producer, deliveries = self._client(), _Deliveries(len(records))
        for i, (key, value) in enumerate(records):
            kwargs = {"headers": headers[i]} if headers else {}
            report = deliveries.callback(i)
            while True:
                try:
                    producer.produce(topic, value, key, on_delivery=report, **kwargs)
                    break
                except BufferError:  # local queue full: serve delivery reports, then retry
                    producer.poll(0.05)
        while deliveries.pending > 0:
            producer.poll(0.05)
        if any(err.fatal() for _, err in deliveries.failed):
            self._producer = None  # a fatal idempotence error: start a new producer session
        return [(records[i], err) for i, err in deliveries.failed]

    def _dead_letter(self, record: Record, err: Any) -> DeadLetterRecord:
        return DeadLetterRecord(
            record[1],
            "produce",
            f"delivery to {self.topic} failed: {err.str()}",
            err.name().lower().lstrip("_"),
            key=record[0],
        )


def _terminal(err: Any) -> bool:
    return err.name() in _TERMINAL or not (err.retriable() or err.name().startswith("_"))
