"""Dead letters: a record that cannot go on, its original bytes, and why, as Kafka headers.

The value is the original payload, untouched (cut to ``max_bytes`` when huge, with a header
saying so), so the record can be inspected and replayed; the context travels in headers:
``fitray.stage`` (enrich, produce, consume, store), ``fitray.reason``, ``fitray.code`` and,
for records read from Kafka, ``fitray.source.topic/partition/offset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HEADER_PREFIX", "DeadLetterRecord", "decode_headers"]

HEADER_PREFIX = "fitray."
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One record for the dead-letter topic; ``key`` is the event_id when one is known."""

    value: bytes
    stage: str
    reason: str
    code: str = "invalid"
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
            "stage": self.stage,
            "reason": self.reason[:MAX_REASON_CHARS],
            "code": self.code,
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


def decode_headers(headers: list[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """``fitray.*`` headers of a dead-letter message as text, prefix removed."""
    return {
        name.removeprefix(HEADER_PREFIX): (value or b"").decode("utf-8", "replace")
        for name, value in headers or ()
        if name.startswith(HEADER_PREFIX)
    }
