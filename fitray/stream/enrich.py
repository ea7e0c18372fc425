"""Enrichment on Ray: async actors turning batches of raw workouts into Kafka-ready records.

Each :class:`EnrichmentWorker` owns one :class:`~fitray.calories.client.CalorieClient`
(built on first use, so a restarted actor is cheap) and enriches a whole batch per call --
hundreds of workouts, concurrently inside the client -- because one Ray call costs about a
millisecond. Every worker's client draws on the API's one cluster-wide rate limit
(:mod:`fitray.calories.shared_limit`), however many workers and pipelines there are.
The result is what the producer actor needs and nothing more: ``(event_id, JSON)`` pairs and
dead letters, so it can be passed by reference straight from this actor to the producer.

Which worker enriches a workout (:func:`submit_enrichment`): with ``key`` routing, the one
:class:`KeyRouter` names from the workout's calorie lookup key -- the resolved activity and
the weight as the request carries it -- by a hash that is the same in every process. Each
worker's cache then holds its own part of the key space, never a key another one holds, so
the cluster asks the API once per key instead of once per key per worker. The whole key, not
the activity alone, is hashed: a few activities carry most workouts (in the generator's data
one has 37 %), and routing by activity would give one worker most of the work. A batch split
over several workers goes to the producer as its parts' references, in one call: Ray hands it
the parts, and it produces them as one batch (no extra actor call to join them first).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter

from fitray.calories.cache import cache_key, sent_weight
from fitray.calories.client import CalorieClient
from fitray.calories.normalise import title_key
from fitray.calories.outcomes import DeadLetter
from fitray.calories.resolve import ActivityResolver, UnresolvedActivity
from fitray.config import Settings
from fitray.dead_letters import Stage
from fitray.schema import EnrichedWorkout, RawWorkout
from fitray.stream.dead_letter import DeadLetterRecord
from fitray.stream.metrics import StreamMetrics

__all__ = ["EnrichedBatch", "EnrichmentWorker", "KeyRouter", "Provider", "encode_workouts",
           "submit_enrichment"]  # fmt: skip

Provider = Literal["http", "table"]
_WORKOUTS = TypeAdapter(list[RawWorkout])


@dataclass
class EnrichedBatch:
    records: list[tuple[str, bytes]]  # (event_id, EnrichedWorkout as JSON)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)


class EnrichmentWorker:
    """Body of the enrichment actor; ``provider="table"`` answers in-process (no HTTP)."""

    def __init__(self, settings: Settings, *, provider: Provider = "http"):
        self.settings, self.provider = settings, provider
        self._client: CalorieClient | None = None
        self._metrics = StreamMetrics("enrich")

    async def enrich(self, workouts: list[RawWorkout] | bytes) -> EnrichedBatch:
        """A batch, as workouts or as :func:`encode_workouts` made it (validated here)."""
        started = time.perf_counter()
        if isinstance(workouts, bytes):
            workouts = _WORKOUTS.validate_json(workouts, strict=True)
        result = await self._calorie_client().enrich_batch(workouts)
        to_json = EnrichedWorkout.__pydantic_serializer__.to_json
        batch = EnrichedBatch(
            [(w.event_id, to_json(w)) for w in result.enriched],
            [_dead_letter(d) for d in result.dead_letters],
        )
        self._metrics.batch(len(workouts), len(batch.records), time.perf_counter() - started)
        return batch

    async def stats(self) -> dict[str, Any]:
        """The calorie client's counters (calls, cache hits, coalesced lookups...)."""
        return self._client.stats.as_dict() if self._client is not None else {}

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


class KeyRouter:
    """Which of ``n`` workers owns a workout: a stable hash of its calorie lookup key.

    Pure and picklable; the same in every process (CRC-32, not Python's salted ``hash``).
    A title that does not resolve is routed by its own text: any worker dead-letters it alike.
    """

    MAX_TITLES = 65_536  # titles remembered with their activity

    def __init__(self, resolver: ActivityResolver, weight_step_lb: float = 1.0) -> None:
        self.resolver, self.weight_step_lb = resolver, weight_step_lb
        self._titles: dict[str, tuple[str | None, int]] = {}  # title -> (activity key, CRC)
        self._weights: dict[float, bytes] = {}  # weight as given -> the sent weight, hashed form

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRouter:
        s = settings
        resolver = ActivityResolver.from_files(s.mapping_path, s.exercises_file, s.activities_file)
        return cls(resolver, s.calorie_weight_step_lb)

    def key(self, workout: RawWorkout) -> tuple[str, float] | None:
        """The calorie client's cache key for ``workout`` (None: its title has no activity)."""
        activity, _ = self._title(workout.title)
        weight = sent_weight(workout.weight_lb, self.weight_step_lb)
        return None if activity is None else (activity, weight)

    def owner(self, workout: RawWorkout, n: int) -> int:
        _, seed = self._title(workout.title)
        weight = self._weights.get(workout.weight_lb)
        if weight is None:  # the driver routes every workout: round and format once a weight
            weight = repr(sent_weight(workout.weight_lb, self.weight_step_lb)).encode()
            if len(self._weights) >= self.MAX_TITLES:
                self._weights.clear()
            self._weights[workout.weight_lb] = weight
        return zlib.crc32(weight, seed) % n

    def split(self, workouts: Sequence[RawWorkout], n: int) -> list[list[RawWorkout]]:
        """The workouts of each of ``n`` workers, in input order."""
        parts: list[list[RawWorkout]] = [[] for _ in range(n)]
        for workout in workouts:
            parts[self.owner(workout, n)].append(workout)
        return parts

    def _title(self, title: str) -> tuple[str | None, int]:
        known = self._titles.get(title)
        if known is None:
            try:
                activity = cache_key(self.resolver.resolve(title).activity, 0)[0]
                known = activity, zlib.crc32(activity.encode())
            except UnresolvedActivity:
                known = None, zlib.crc32(b"unresolved\0" + title_key(title).encode())
            if len(self._titles) >= self.MAX_TITLES:  # titles from a topic are unbounded
                self._titles.clear()
            self._titles[title] = known
        return known


def encode_workouts(workouts: Sequence[RawWorkout]) -> bytes:
    """A batch as one JSON array: what Ray ships to an enrichment actor. Pickling pydantic
    models one by one costs ~50 us a workout in Ray's serializer; this, ~1 us."""
    return _WORKOUTS.dump_json(list(workouts))


def submit_enrichment(
    enrichers: Sequence[Any], workouts: list[RawWorkout], router: KeyRouter | None, turn: int
) -> list[Any]:
    """Enrich one batch on Ray: split by key over ``enrichers``, or whole on the ``turn``-th
    (round robin: ``router`` None). Returns the refs of its parts' EnrichedBatches, in the
    enrichers' order (one ref unless the batch was split)."""
    n = len(enrichers)
    if router is None or n == 1:
        return [enrichers[turn % n].enrich.remote(encode_workouts(workouts))]
    return [enrichers[i].enrich.remote(encode_workouts(part))
            for i, part in enumerate(router.split(workouts, n)) if part]  # fmt: skip


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
