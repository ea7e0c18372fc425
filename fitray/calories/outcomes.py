"""What the calorie client hands back: enriched workouts, dead letters, and why each one.

A dead letter's code (:class:`fitray.dead_letters.DeadLetterCode`) comes from the error's type
here and only here; call failures keep their finer codes (``timeout``, ``server_error``...)
for counters and the breaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fitray.calories.resolve import UnresolvedActivity
from fitray.dead_letters import DeadLetterCode
from fitray.exceptions import TerminalError, TransientError
from fitray.schema import EnrichedWorkout, InvalidRecord, RawWorkout

__all__ = [
    "MISCONFIGURED",
    "DeadLetter",
    "EnrichmentResult",
    "call_failure_code",
    "dead_letter_code",
    "event_id_of",
]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    workout: RawWorkout | Mapping[str, Any]  # as given: a raw dict may not even validate
    reason: str  # one line for humans; never holds the API key
    attempts: int  # provider calls made for this workout
    code: DeadLetterCode = DeadLetterCode.INTERNAL


@dataclass
class EnrichmentResult:
    enriched: list[EnrichedWorkout] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def dead_letter_code(exc: BaseException) -> DeadLetterCode:
    """Why a workout that failed with ``exc`` is dead-lettered, for an operator."""
    if isinstance(exc, TransientError):
        return DeadLetterCode.API_UNAVAILABLE
    if not isinstance(exc, TerminalError):
        return DeadLetterCode.INTERNAL
    if isinstance(exc, InvalidRecord):
        return DeadLetterCode.INVALID_RECORD
    if isinstance(exc, UnresolvedActivity):
        return DeadLetterCode.UNRESOLVED_ACTIVITY
    return _REJECTIONS.get(getattr(exc, "code", ""), DeadLetterCode.INTERNAL)


_REJECTIONS = {
    "unknown_activity": DeadLetterCode.UNKNOWN_ACTIVITY,
    "bad_request": DeadLetterCode.REJECTED_BY_API,
}
MISCONFIGURED = {"unauthorized", "not_found"}  # a setting to fix: stop, never dead-letter


def call_failure_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    if isinstance(exc, TerminalError):
        return _snake(type(exc).__name__)  # InvalidRecord -> invalid_record
    return "transient" if isinstance(exc, TransientError) else "internal"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def event_id_of(workout: Any) -> str:
    if isinstance(workout, Mapping):
        return f"event_id={workout.get('event_id')!r}"
    return f"event_id={getattr(workout, 'event_id', None)!r}"
