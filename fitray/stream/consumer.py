"""The consumer side: one Kafka consumer per worker, batches validated and stored in MongoDB.

:meth:`ConsumerWorker.step` does one batch: ``consume(n, timeout)``, validate each message
against :mod:`fitray.schema`, dead-letter the invalid ones (headers: source topic,
partition, offset, reason), bulk-write the valid ones idempotently, deliver the dead
letters, and only then commit the batch's offsets, explicitly. Anything that fails for a
while (store down, broker down, a commit refused) leaves the batch *pending* and the step
returns at once with ``retry_after_s``: the caller schedules the next step (the worker never
sleeps), which retries the batch from where it stopped instead of reading on, so nothing is
skipped; redelivered messages are duplicates the sink skips.

Rebalances: the next ``consume()`` is only called once the previous batch is committed, and
rebalance callbacks run inside ``consume()``, so a revoked partition never has work in
flight. Eager assignment (``range``) makes every rebalance restart from committed offsets.
The worker runs inside a Ray actor (:mod:`fitray.stream.pipeline`) or alone in a process
(:func:`run_until_stopped`: ``fitray stream consume``; a stop finishes the batch in hand,
then leaves the group).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fitray.clients.kafka import consumer_config
from fitray.config import Settings, redact_url
from fitray.dead_letters import DeadLetterCode, Stage
from fitray.schema import InvalidRecord, parse_enriched
from fitray.stream.dead_letter import DeadLetterRecord, DeadLetterWriter
from fitray.stream.exceptions import BrokerUnavailable, StoreUnavailable
from fitray.stream.metrics import StreamMetrics
from fitray.stream.sink import MongoSink, to_document

__all__ = ["ConsumerWorker", "StepReport", "run_until_stopped"]

log = logging.getLogger(__name__)
Offsets = dict[tuple[str, int], int]
COMMIT_TRIES = 3


@dataclass
class StepReport:
    consumed: int = 0
    stored: int = 0
    duplicates: int = 0
    committed: int = 0
    retrying: str | None = None  # why the pending batch waits, if it does
    waiting_for: str | None = None  # which server, with its address, when retrying
    retry_after_s: float = 0.0  # when retrying: how long the caller should wait first
    dead_letters: dict[Stage, int] = field(default_factory=dict)

    @property
    def dead_lettered(self) -> int:
        return sum(self.dead_letters.values())


@dataclass
class _Pending:
    count: int
    first: Offsets  # first offset of the batch per partition (to rewind to)
    offsets: Offsets  # next offset to commit per partition
    documents: list[dict[str, Any]]
    dead_letters: list[DeadLetterRecord]
    failures: int = 0
    commit_failures: int = 0


class ConsumerWorker:
    """One member of the consumer group; lazy: nothing connects before the first step."""

    def __init__(
        self,
        settings: Settings,
        topic: str | None = None,
        *,
        group_id: str | None = None,
        database: str | None = None,
        dead_letter_topic: str | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic or settings.kafka_enriched_topic
        self.group_id = group_id or settings.stream_consumer_group
        dlq = dead_letter_topic or settings.kafka_dead_letter_topic
        self.sink = MongoSink(settings, database)
        self.dead_letters = DeadLetterWriter(settings, dlq)
        self._consumer: Any = None
        self._pending: _Pending | None = None
        self._metrics = StreamMetrics("consume")

    def step(self) -> StepReport:
        """One batch (or one retry of the pending batch); returns what it did."""
        report = StepReport()
        if self._pending is None:
            self._pending = self._poll(report)
        if self._pending is not None:
            started = time.perf_counter()
            self._finish(self._pending, report)
            self._metrics.batch(report.consumed, report.stored, time.perf_counter() - started)
            self._metrics.duplicates(report.duplicates)
        return report

    def close(self) -> None:
        """Leave the group; a pending (uncommitted) batch will be redelivered to a member."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self.dead_letters.flush()
        self.sink.close()

    def _client(self) -> Any:
        if self._consumer is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(consumer_config(self.settings, self.group_id))
            self._consumer.subscribe(
                [self.topic],
                on_assign=_log_partitions("assigned"),
                on_revoke=_log_partitions("revoked"),
                on_lost=_log_partitions("lost"),
            )
        return self._consumer

    def _poll(self, report: StepReport) -> _Pending | None:
        messages = self._client().consume(
            self.settings.stream_poll_batch, self.settings.stream_poll_timeout_s
        )
        pending = _Pending(0, {}, {}, [], [])
        stored_at = datetime.now(UTC)
        for message in messages:
            if message.error() is not None:
                log.warning("consumer error on %s: %s", self.topic, message.error())
                continue
            self._accept(message, pending, stored_at)
        report.consumed = pending.count
        return pending if pending.count else None

    def _accept(self, message: Any, pending: _Pending, stored_at: datetime) -> None:
        where = (message.topic(), message.partition())
        pending.first.setdefault(where, message.offset())
        pending.offsets[where] = message.offset() + 1
        pending.count += 1
        try:
            workout = parse_enriched(message.value() or b"")
        except InvalidRecord as exc:
            pending.dead_letters.append(_invalid(message, exc.reason))
            return
        pending.documents.append(to_document(workout, stored_at))

    def _finish(self, pending: _Pending, report: StepReport) -> None:
        try:
            self._write(pending, report)
            report.dead_letters = dict(self.dead_letters.send(pending.dead_letters))
            self._metrics.dead_letters(pending.dead_letters)
            pending.dead_letters = []
            self._commit(pending)
        except (StoreUnavailable, BrokerUnavailable) as exc:
            pending.failures += 1
            report.retrying = f"try {pending.failures}: {exc}"
            report.waiting_for = self._server_of(exc)
            report.retry_after_s = min(
                self.settings.stream_store_retry_cap_s, 0.1 * 2**pending.failures
            )
            log.warning("batch of %d pending (try %d): %s", pending.count, pending.failures, exc)
            return
        report.committed = pending.count
        self._pending = None

    def _server_of(self, exc: Exception) -> str:
        if isinstance(exc, StoreUnavailable):
            where = redact_url(self.settings.mongo_url.get_secret_value())
            return f"the document store at {where} (FITRAY_MONGO_URL)"
        return f"Kafka at {self.settings.kafka_bootstrap_servers}"

    def _write(self, pending: _Pending, report: StepReport) -> None:
        outcome = self.sink.write(pending.documents)
        report.stored += outcome.inserted
        report.duplicates += outcome.duplicates
        pending.documents = outcome.retry
        for document, code, why in outcome.rejected:
            pending.dead_letters.append(
                DeadLetterRecord.of_object(
                    document,
                    stage=Stage.STORE,
                    reason=f"rejected by the store (code {code}): {why}",
                    code=DeadLetterCode.STORE_REJECTED,
                    key=document["_id"],
                )
            )
        if pending.documents:
            raise StoreUnavailable(f"{len(pending.documents)} document(s) to retry")

    def _commit(self, pending: _Pending) -> None:
        """Commit, then read the commit back, both bounded in time.

        A synchronous commit can block for ever while a rebalance waits for this very
        consumer to poll (seen after a broker restart), so the commit is sent asynchronously
        and confirmed with ``committed()``. If it stays unconfirmed, the batch is rewound and
        dropped: the next ``consume()`` serves the rebalance, and the batch comes back to
        whichever member owns it (its writes are then duplicates skipped).
        """
        from confluent_kafka import KafkaException, TopicPartition

        consumer = self._client()
        offsets = [TopicPartition(t, p, o) for (t, p), o in pending.offsets.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=True)
            confirmed = consumer.committed([TopicPartition(t, p) for t, p in pending.offsets], 5)
            if all(c.offset >= pending.offsets[(c.topic, c.partition)] for c in confirmed):
                return
            problem = "not confirmed yet"
        except KafkaException as exc:
            problem = exc.args[0].str()
        pending.commit_failures += 1
        if pending.commit_failures < COMMIT_TRIES:
            raise BrokerUnavailable(f"offset commit failed: {problem}")
        log.warning(
            "commit failed %d times (%s): rewinding, batch redelivered", COMMIT_TRIES, problem
        )
        self._rewind(pending.first)

    def _rewind(self, first: Offsets) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        for (topic, partition), offset in first.items():
            # not ours any more: its new owner starts from the committed offset anyway
            with contextlib.suppress(KafkaException):
                self._client().seek(TopicPartition(topic, partition, offset))


def _invalid(message: Any, reason: str) -> DeadLetterRecord:
    return DeadLetterRecord(
        message.value() or b"",
        Stage.CONSUME,
        reason,
        DeadLetterCode.INVALID_RECORD,
        key=message.key(),
        source_topic=message.topic(),
        source_partition=message.partition(),
        source_offset=message.offset(),
    )


def _log_partitions(what: str) -> Callable[[Any, list[Any]], None]:
    def callback(_consumer: Any, partitions: list[Any]) -> None:
        log.info("partitions %s: %s", what, [(p.topic, p.partition) for p in partitions])

    return callback


def run_until_stopped(
    worker: ConsumerWorker,
    stop: threading.Event,
    on_step: Callable[[StepReport], None] = lambda _: None,
) -> None:
    try:
        while not stop.is_set():
            report = worker.step()
            on_step(report)
            if report.retry_after_s:
                stop.wait(report.retry_after_s)
    finally:
        worker.close()
