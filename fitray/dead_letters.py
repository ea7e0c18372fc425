"""Dead letters: the stages that produce them and the codes that say why, one definition each.

A dead letter is a record that cannot go on: it is published to the dead-letter topic with its
original bytes, its stage, its code and a one-line reason (see ``fitray.stream.dead_letter``).
Counters, Ray metrics (tag ``code``), the stream summary, the README and the pipeline-health
page all use these two enums; nothing builds a stage or a code from free text.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CODE_MEANINGS", "METRIC_TAG", "STAGE_MEANINGS", "DeadLetterCode", "Stage"]

METRIC_TAG = "code"  # the tag that carries a DeadLetterCode on every metric


class Stage(StrEnum):
    """Where in the stream a record was dead-lettered."""

    SOURCE = "source"
    ENRICH = "enrich"
    PRODUCE = "produce"
    CONSUME = "consume"
    STORE = "store"


class DeadLetterCode(StrEnum):
    """Why a record was dead-lettered; see :data:`CODE_MEANINGS`."""

    INVALID_RECORD = "invalid_record"
    UNRESOLVED_ACTIVITY = "unresolved_activity"
    UNKNOWN_ACTIVITY = "unknown_activity"
    REJECTED_BY_API = "rejected_by_api"
    API_UNAVAILABLE = "api_unavailable"
    TOO_LARGE = "too_large"
    DELIVERY_FAILED = "delivery_failed"
    STORE_REJECTED = "store_rejected"
    INTERNAL = "internal"


STAGE_MEANINGS: dict[Stage, str] = {
    Stage.SOURCE: "a raw workout read from the raw topic did not fit the schema",
    Stage.ENRICH: "a workout could not be enriched with calories",
    Stage.PRODUCE: "Kafka did not take an enriched workout",
    Stage.CONSUME: "a message of the enriched topic did not fit the schema",
    Stage.STORE: "the document store refused an enriched workout",
}

CODE_MEANINGS: dict[DeadLetterCode, str] = {
    DeadLetterCode.INVALID_RECORD: "not JSON, a wrong type, a missing field, a value out of "
    "range (NaN and infinity included): fix the producer of the record",
    DeadLetterCode.UNRESOLVED_ACTIVITY: "the exercise title maps to no calorie activity: add it "
    "to mapping/mapping.json (`fitray mapping check` lists such titles)",
    DeadLetterCode.UNKNOWN_ACTIVITY: "the calorie API knows no activity of that name: fix the "
    "mapping value",
    DeadLetterCode.REJECTED_BY_API: "the calorie API refused the request's parameters (400): "
    "the workout's weight or duration is outside what the API accepts",
    DeadLetterCode.API_UNAVAILABLE: "the calorie API kept failing for this workout (for "
    "FITRAY_CALORIE_MAX_WAIT_S) while it answered others: replay it with `fitray dead-letters "
    "replay --code api_unavailable`",
    DeadLetterCode.TOO_LARGE: "Kafka refused the message as too large for the topic",
    DeadLetterCode.DELIVERY_FAILED: "Kafka did not acknowledge the message after every retry: "
    "replay once the broker is healthy",
    DeadLetterCode.STORE_REJECTED: "the document store refused the document (not a duplicate, "
    "which is success): see the reason",
    DeadLetterCode.INTERNAL: "a bug in fitray: report it with the reason",
}
