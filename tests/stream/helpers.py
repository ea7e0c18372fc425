"""Helpers of the stream tests: hand-made enriched workouts, publishing, reading a topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer

from fitray.schema import EnrichedWorkout
from fitray.stream.source import WorkoutGenerator
from tests.stream.conftest import wait_for

TITLES = ["Barbell Deadlift", "Rickshaw Carry", "Single-Leg Press"]


def enriched(seed: int, count: int) -> list[EnrichedWorkout]:
    now = datetime.now(UTC)
    return [
        EnrichedWorkout(
            **w.model_dump(),
            activity="Weight lifting, body building, vigorous",
            resolution="exact",
            kcal_per_hour=400.0,
            total_kcal=w.duration_min * 400 / 60,
            provider="http",
            fetched_at=now,
            attempts=1,
            fallback_used=False,
        )
        for batch in WorkoutGenerator(TITLES, seed=seed, count=count).batches(count)
        for w in batch.workouts
    ]


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 2_000_000})
    for key, value in messages:
        producer.produce(topic, value, key)
        producer.poll(0)
    assert producer.flush(30) == 0


def read_all(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[Any] = []

    def enough() -> bool:
        got.extend(m for m in consumer.consume(100, 0.5) if not m.error())
        return len(got) >= expected

    try:
        wait_for(enough, 30, f"{expected} messages in {topic}")
    finally:
        consumer.close()
    return got
