"""The Kafka producer actor: enriched batches in, delivered (or dead-lettered) records out.

:meth:`BatchProducer.send` returns only when Kafka has acknowledged every record of the
batch (``acks=all``, idempotent producer; settings in :mod:`fitray.clients.kafka`), so the
caller's count of unacknowledged batches is a true bound on memory. A record whose delivery
fails is produced again up to ``stream_produce_attempts`` times (librdkafka already retried
it for ``delivery.timeout.ms``), then dead-lettered with its reason. A record too large for the
topic makes the broker refuse its whole batch, innocent neighbours included: records refused
for size are produced again one at a time, so only the one that is too large on its own is
dead-lettered. A delivery that timed out (librdkafka tried for ``delivery.timeout.ms``) is an
outage, not bad input: a new client is made, and if the broker does not answer it either,
:class:`BrokerUnavailable` ends the call, nothing dead-lettered. Concurrent ``send`` calls share
the producer, which is thread-safe; each waits for its own delivery reports.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fitray.clients.kafka import Record, deliver, producer_config
from fitray.config import Settings
from fitray.dead_letters import DeadLetterCode, Stage
from fitray.stream.dead_letter import DeadLetterRecord, DeadLetterWriter
from fitray.stream.exceptions import BrokerUnavailable
from fitray.stream.metrics import StreamMetrics

if TYPE_CHECKING:
    from fitray.stream.enrich import EnrichedBatch

__all__ = ["BatchProducer", "ProduceReport"]

_TOO_LARGE = {"MSG_SIZE_TOO_LARGE", "_MSG_SIZE_TOO_LARGE"}
_TIMED_OUT = "_MSG_TIMED_OUT"
BROKER_PROBE_S = 5.0  # after a delivery timed out: how long a new client may take to answer
_TERMINAL = {*_TOO_LARGE, "INVALID_RECORD"}


@dataclass
class ProduceReport:
    enriched: int = 0
    produced: int = 0
    retried: int = 0
    dead_letters: dict[Stage, int] = field(default_factory=dict)

    @property
    def dead_lettered(self) -> int:
        return sum(self.dead_letters.values())


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
        todo, attempt, letters = list(records), 0, list(dead_letters)
        oversized: list[Record] = []  # refused for size, maybe only for a neighbour's
        while todo:
            attempt += 1
            failed = self._deliver(todo)
            report.produced += len(todo) - len(failed)
            todo = []
            for record, err in failed:
                if err.name() in _TOO_LARGE:
                    oversized.append(record)
                elif _terminal(err) or attempt >= self.settings.stream_produce_attempts:
                    letters.append(self._dead_letter(record, err))
                else:
                    todo.append(record)
            report.retried += len(todo)
        for record in oversized:
            err = self._deliver_alone(record)
            if err is None:
                report.produced += 1
            else:
                letters.append(self._dead_letter(record, err))
        report.dead_letters = dict(
            DeadLetterWriter(self.settings, self.dead_letter_topic, self._client()).send(letters)
        )
        self._metrics.dead_letters(letters)
        self._metrics.batch(len(records), report.produced, time.perf_counter() - started)
        return report

    def send_enriched(
        self,
        *parts: EnrichedBatch,
        source_dead_letters: Sequence[DeadLetterRecord] = (),
    ) -> ProduceReport:
        """One batch from its enrichment parts (passed by reference: Ray resolves them here)
        plus the source's dead letters."""
        records = [record for part in parts for record in part.records]
        letters = [*source_dead_letters, *(d for part in parts for d in part.dead_letters)]
        report = self.send(records, letters)
        report.enriched = len(records)
        return report

    def flush(self, timeout_s: float = 30.0) -> int:
        """Deliver whatever is queued; returns how many messages are still undelivered."""
        return 0 if self._producer is None else int(self._producer.flush(timeout_s))

    close = flush

    def _client(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(producer_config(self.settings))
        return self._producer

    def _deliver(self, records: list[Record]) -> list[tuple[Record, Any]]:
        failed = deliver(self._client(), self.topic, records)
        if any(err.fatal() for _, err in failed):
            self._producer = None  # a fatal idempotence error: start a new producer session
        timed_out = sum(err.name() == _TIMED_OUT for _, err in failed)
        if timed_out:
            # librdkafka tried for delivery.timeout.ms: the broker was away all along, or this
            # client is stuck since it came back. A new client finds out which: if the broker
            # answers it, the records are produced again on it; if not, this is an outage, not
            # the records' fault, and none of them is dead-lettered.
            self._producer = None
            if not self._broker_answers():
                raise BrokerUnavailable(
                    f"Kafka at {self.settings.kafka_bootstrap_servers} "
                    f"(FITRAY_KAFKA_BOOTSTRAP_SERVERS) acknowledged none of {timed_out:,} "
                    f"records in {self.settings.kafka_delivery_timeout_ms / 1000:g}s "
                    "(FITRAY_KAFKA_DELIVERY_TIMEOUT_MS) and does not answer now; nothing was "
                    "dead-lettered: run again once it is up (event ids make a rerun store each "
                    "event once)"
                )
        return failed

    def _broker_answers(self) -> bool:
        from confluent_kafka import KafkaException

        try:
            self._client().list_topics(self.topic, timeout=BROKER_PROBE_S)
        except KafkaException:
            return False
        return True

    def _deliver_alone(self, record: Record) -> Any:
        """Produce one record on its own (waiting for its report); its last error, or None."""
        err = None
        for _ in range(self.settings.stream_produce_attempts):
            failed = self._deliver([record])
            if not failed:
                return None
            err = failed[0][1]
            if _terminal(err):
                break
        return err

    def _dead_letter(self, record: Record, err: Any) -> DeadLetterRecord:
        too_large = err.name() in _TOO_LARGE
        return DeadLetterRecord(
            record[1],
            Stage.PRODUCE,
            f"delivery to {self.topic} failed: {err.name()}: {err.str()}",
            DeadLetterCode.TOO_LARGE if too_large else DeadLetterCode.DELIVERY_FAILED,
            key=record[0],
        )


def _terminal(err: Any) -> bool:
    return err.name() in _TERMINAL or not (err.retriable() or err.name().startswith("_"))
