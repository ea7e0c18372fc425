"""Dead letters on Kafka: a record that cannot go on, its original bytes, and why, as headers.

The value is the original payload, untouched (cut to ``max_bytes`` when huge, with a header
saying so), so the record can be inspected and replayed; the context travels in headers:
``fitray.stage`` and ``fitray.code`` (:mod:`fitray.dead_letters`), ``fitray.reason`` (one line)
and, for records read from Kafka, ``fitray.source.topic/partition/offset``.
:class:`DeadLetterWriter` publishes them and waits for Kafka's acknowledgement.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fitray.clients.kafka import deliver, producer_config
from fitray.config import Settings
from fitray.dead_letters import DeadLetterCode, Stage
from fitray.stream.exceptions import BrokerUnavailable

__all__ = ["HEADER_PREFIX", "DeadLetterRecord", "DeadLetterWriter", "decode_headers"]

HEADER_PREFIX = "fitray."
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One record for the dead-letter topic; ``key`` is the event_id when one is known."""

    value: bytes
    stage: Stage
    reason: str
    code: DeadLetterCode
    key: str | bytes | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_object(cls, obj: Any, **fields: Any) -> DeadLetterRecord:
        """A dead letter whose payload is a JSON-able object (a workout that failed later)."""
        value = json.dumps(obj, default=str, separators=(",", ":")).encode()
        return cls(value=value, **fields)

    def headers(self, max_bytes: int) -> list[tuple[str, bytes]]:
        pairs: dict[str, Any] = {
            "stage": self.stage.value,
            "reason": self.reason[:MAX_REASON_CHARS],
            "code": self.code.value,
            "source.topic": self.source_topic,
            "source.partition": self.source_partition,
            "source.offset": self.source_offset,
            **self.extra,
        }
        if len(self.value) > max_bytes:
            pairs["truncated"] = "true"
            pairs["original_bytes"] = len(self.value)
        return [(HEADER_PREFIX + k, str(v).encode()) for k, v in pairs.items() if v is not None]

    def payload(self, max_bytes: int) -> bytes:
        return self.value[:max_bytes]


class DeadLetterWriter:
    """Publishes dead letters to one topic and returns once Kafka acknowledged all of them."""

    def __init__(self, settings: Settings, topic: str, producer: Any = None) -> None:
        self.settings, self.topic = settings, topic
        self._producer = producer  # shared with a BatchProducer, or made on first use

    def send(self, letters: Sequence[DeadLetterRecord]) -> Counter[Stage]:
        """Dead letters must arrive too: a failure here is transient for the whole call."""
        if not letters:
            return Counter()
        limit = self.settings.stream_dead_letter_max_bytes
        records = [(d.key, d.payload(limit)) for d in letters]
        failed = deliver(self._client(), self.topic, records, [d.headers(limit) for d in letters])
        if failed:
            raise BrokerUnavailable(
                f"{len(failed)} dead letter(s) not delivered to {self.topic}: {failed[0][1]}"
            )
        return Counter(letter.stage for letter in letters)

    def flush(self, timeout_s: float = 30.0) -> int:
        return 0 if self._producer is None else int(self._producer.flush(timeout_s))

    def _client(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(producer_config(self.settings))
        return self._producer


def decode_headers(headers: list[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """``fitray.*`` headers of a dead-letter message as text, prefix removed."""
    return {
        name.removeprefix(HEADER_PREFIX): (value or b"").decode("utf-8", "replace")
        for name, value in headers or ()
        if name.startswith(HEADER_PREFIX)
    }
