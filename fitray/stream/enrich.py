"""Enrichment on Ray: async actors turning batches of raw workouts into Kafka-ready records.

Each :class:`EnrichmentWorker` owns one :class:`~fitray.calories.client.CalorieClient`
(built on first use, so a restarted actor is cheap) and enriches a whole batch per call --
hundreds of workouts, concurrently inside the client -- because one Ray call costs about a
millisecond. Every worker's client draws on the API's one cluster-wide rate limit
(:mod:`fitray.calories.shared_limit`), however many workers and pipelines there are.
The result is what the producer actor needs and nothing more: ``(event_id, JSON)`` pairs and
dead letters, so it can be passed by reference straight from this actor to the producer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fitray.calories.client import CalorieClient
from fitray.calories.outcomes import DeadLetter
from fitray.calories.resolve import ActivityResolver
from fitray.config import Settings
from fitray.dead_letters import Stage
from fitray.schema import RawWorkout
from fitray.stream.dead_letter import DeadLetterRecord
from fitray.stream.metrics import StreamMetrics

__all__ = ["EnrichedBatch", "EnrichmentWorker", "Provider"]

Provider = Literal["http", "table"]


@dataclass
class EnrichedBatch:
    records: list[tuple[str, bytes]]  # (event_id, EnrichedWorkout as JSON)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    workouts_in: int = 0
    enrich_s: float = 0.0


class EnrichmentWorker:
    """Body of the enrichment actor; ``provider="table"`` answers in-process (no HTTP)."""

    def __init__(self, settings: Settings, *, provider: Provider = "http"):
        self.settings, self.provider = settings, provider
        self._client: CalorieClient | None = None
        self._metrics = StreamMetrics("enrich")

    async def enrich(self, workouts: list[RawWorkout]) -> EnrichedBatch:
        started = time.perf_counter()
        result = await self._calorie_client().enrich_batch(workouts)
        batch = EnrichedBatch(
            [(w.event_id, w.model_dump_json().encode()) for w in result.enriched],
            [_dead_letter(d) for d in result.dead_letters],
            len(workouts),
            time.perf_counter() - started,
        )
        self._metrics.batch(len(workouts), len(batch.records), batch.enrich_s)
        return batch

    async def waiting(self) -> str | None:
        """What this worker's calorie client waits for (an outage), for the run's display."""
        return self._client.waiting() if self._client is not None else None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _calorie_client(self) -> CalorieClient:
        if self._client is None:
            s = self.settings
            resolver = ActivityResolver.from_files(
                s.mapping_path, s.exercises_file, s.activities_file
            )
            self._client = CalorieClient.from_settings(s, resolver, provider=self._provider())
        return self._client

    def _provider(self) -> Any:
        if self.provider == "table":
            from fitray.calories.provider import TableCalorieProvider

            return TableCalorieProvider.from_file(self.settings.activities_file)
        return None  # the client's default: HTTP to calorie_api_url


def _dead_letter(letter: DeadLetter) -> DeadLetterRecord:
    workout = letter.workout
    payload = workout.model_dump(mode="json") if isinstance(workout, RawWorkout) else workout
    key = payload.get("event_id") if isinstance(payload, Mapping) else None
    return DeadLetterRecord.of_object(
        payload,
        stage=Stage.ENRICH,
        reason=letter.reason,
        code=letter.code,
        key=str(key) if key is not None else None,
        extra={"attempts": str(letter.attempts)},
    )
