"""Stream throughput into MongoDB (FerretDB), side by side in one run, on one topic.

Measures events/s of:
  (1) fitray end to end: generator -> Ray enrichment (local calorie API) -> producer actor
      -> Kafka -> Ray consumer pool -> bulk idempotent writes -> commit;
  (2) fitray's consumer side alone: the same consumer pool draining pre-published messages;
  (a) the original consumer: json.loads, insert_one, synchronous commit, per message;
  (b1) raw ceiling of the store: insert_many(ordered=False) of the same documents, no Kafka;
  (b2) raw ceiling of the broker: consume() of the same topic, no processing;
  (c) validation alone: parse_enriched + to_document, in process.
Prints a table with ratios and writes JSON to bench/results/.

    python bench/bench_stream.py --help
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from pymongo import MongoClient

from fitray.clients.kafka import ensure_topics, partition_lag
from fitray.clients.ray import connect_ray
from fitray.config import get_settings
from fitray.schema import EnrichedWorkout, parse_enriched
from fitray.stream.pipeline import StreamOptions, StreamPipeline
from fitray.stream.sink import to_document
from fitray.stream.source import WorkoutGenerator

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000, help="Events for (1), (2), (b).")
    parser.add_argument("--original", type=int, default=2000, help="Events for (a).")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--consumers", type=int, default=2, help="Consumer actors.")
    parser.add_argument("--enrich-actors", type=int, default=2)
    parser.add_argument(
        "--api-rate",
        type=float,
        default=100_000.0,
        help="Client-side calorie API rate limit for (1), requests/s (the local API has none).",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args()


def enriched_messages(count: int) -> list[tuple[bytes, bytes]]:
    settings, now = get_settings(), datetime.now(UTC)
    generator = WorkoutGenerator.from_settings(settings, seed=99, count=count)
    out = []
    for batch in generator.batches(1000):
        for w in batch.workouts:
            e = EnrichedWorkout(
                **w.model_dump(),
                activity="Running, 6 mph (10 min mile)",
                resolution="exact",
                kcal_per_hour=600.0,
                total_kcal=w.duration_min * 10,
                provider="http",
                fetched_at=now,
                attempts=1,
                fallback_used=False,
            )
            out.append((e.event_id.encode(), e.model_dump_json().encode()))
    return out


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10, "acks": "all"})
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def fitray_end_to_end(settings: Any, args: argparse.Namespace, env: dict[str, str]) -> float:
    options = StreamOptions(
        count=args.events,
        seed=7,
        topic=env["e2e_topic"],
        dead_letter_topic=env["dlq"],
        group_id=env["e2e_group"],
        database=env["db"],
        enrich_actors=args.enrich_actors,
        consumer_actors=args.consumers,
    )
    summary = StreamPipeline(settings, options).run()
    assert summary.stored == args.events, summary
    return summary.elapsed_s


def fitray_consumers(settings: Any, args: argparse.Namespace, env: dict[str, str]) -> float:
    """Only the consumer pool of the pipeline, draining the pre-published topic."""
    import ray

    from fitray.stream.consumer import ConsumerWorker

    remote = ray.remote(num_cpus=0)(ConsumerWorker)
    actors = [
        remote.remote(
            settings,
            env["topic"],
            group_id=env["group"],
            database=env["db2"],
            dead_letter_topic=env["dlq"],
        )
        for _ in range(args.consumers)
    ]
    ray.get([a.close.remote() for a in actors])  # warm: processes started, imports done
    started = time.perf_counter()
    steps = {a.step.remote(): a for a in actors}
    stored = 0
    while stored < args.events:
        ready, _ = ray.wait(list(steps), num_returns=1)
        for ref in ready:
            actor = steps.pop(ref)
            stored += ray.get(ref).stored
            steps[actor.step.remote()] = actor
    elapsed = time.perf_counter() - started
    ray.get(list(steps))
    ray.get([a.close.remote() for a in actors])
    assert sum(partition_lag(settings, env["group"], env["topic"]).values()) == 0
    return elapsed


def subscribed_consumer(settings: Any, group: str, topic: str) -> Consumer:
    """A manual-commit consumer reading ``topic`` from the start, as both baselines need."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    return consumer


def original_consumer(settings: Any, count: int, env: dict[str, str], mongo: Any) -> float:
    """The original: one message at a time, insert_one, then a synchronous commit."""
    consumer = subscribed_consumer(settings, env["group"] + "-orig", env["topic"])
    collection = mongo[env["db3"]]["exercises_calories"]
    done, started = 0, None
    while done < count:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        started = started or time.perf_counter()
        record = json.loads(message.value())
        record["_id"] = record["event_id"]
        collection.insert_one(record)
        consumer.commit(message=message, asynchronous=False)
        done += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def raw_bulk_insert(messages: list[tuple[bytes, bytes]], env: dict[str, str], mongo: Any) -> float:
    documents = [to_document(parse_enriched(value)) for _, value in messages]
    collection = mongo[env["db4"]]["exercises_calories"]
    return timed(
        lambda: [
            collection.insert_many(documents[i : i + 1000], ordered=False)
            for i in range(0, len(documents), 1000)
        ]
    )


def raw_consume(settings: Any, count: int, env: dict[str, str]) -> float:
    consumer = subscribed_consumer(settings, env["group"] + "-raw", env["topic"])
    got, started = 0, None
    while got < count:
        batch = consumer.consume(1000, 1.0)
        started = started or (time.perf_counter() if batch else None)
        got += sum(1 for m in batch if not m.error())
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return elapsed


def validate_only(messages: list[tuple[bytes, bytes]]) -> float:
    return timed(lambda: [to_document(parse_enriched(value)) for _, value in messages])


def main() -> None:
    args = parse_args()
    settings = get_settings().model_copy(
        update={"calorie_rate_limit_per_s": args.api_rate, "calorie_rate_burst": 1000}
    )
    tag = uuid.uuid4().hex[:8]
    env = {
        "topic": f"bench.stream.{tag}",
        "e2e_topic": f"bench.stream.e2e.{tag}",
        "dlq": f"bench.stream.dlq.{tag}",
        "group": f"bench-{tag}",
        "e2e_group": f"bench-e2e-{tag}",
        "db": f"bench_e2e_{tag}",
        "db2": f"bench_pool_{tag}",
        "db3": f"bench_orig_{tag}",
        "db4": f"bench_bulk_{tag}",
    }
    bootstrap = settings.kafka_bootstrap_servers
    topics = [env["topic"], env["e2e_topic"], env["dlq"]]
    ensure_topics(bootstrap, topics, partitions=args.partitions)
    mongo: MongoClient = MongoClient(settings.mongo_url.get_secret_value())
    connect_ray(settings)
    try:
        messages = enriched_messages(args.events)
        publish(bootstrap, env["topic"], messages)
        seconds = {
            "fitray_end_to_end": fitray_end_to_end(settings, args, env),
            "fitray_consumer_pool": fitray_consumers(settings, args, env),
            "original_consumer": original_consumer(settings, args.original, env, mongo),
            "raw_bulk_insert": raw_bulk_insert(messages, env, mongo),
            "raw_consume": raw_consume(settings, args.events, env),
            "validate_only": validate_only(messages),
        }
    finally:
        for name in ("db", "db2", "db3", "db4"):
            mongo.drop_database(env[name])
        AdminClient({"bootstrap.servers": bootstrap}).delete_topics(topics)
    counts = {k: args.events for k in seconds} | {"original_consumer": args.original}
    rate = {k: counts[k] / v for k, v in seconds.items()}
    report(rate, seconds, args)


def report(rate: dict[str, float], seconds: dict[str, float], args: argparse.Namespace) -> None:
    for name, value in rate.items():
        print(f"{name:24s} {value:12,.0f} events/s   ({seconds[name]:.2f} s)")
    ratios = {
        "pool / original": rate["fitray_consumer_pool"] / rate["original_consumer"],
        "end-to-end / original": rate["fitray_end_to_end"] / rate["original_consumer"],
        "pool / raw bulk insert": rate["fitray_consumer_pool"] / rate["raw_bulk_insert"],
        "pool / raw consume": rate["fitray_consumer_pool"] / rate["raw_consume"],
        "end-to-end / pool": rate["fitray_end_to_end"] / rate["fitray_consumer_pool"],
    }
    for name, value in ratios.items():
        print(f"{name:24s} {value:12.2f}")
    per_event_us = {k: 1e6 / v for k, v in rate.items()}
    print("per event (us):", {k: round(v, 1) for k, v in per_event_us.items()})
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"stream-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "machine": platform.platform(),
                "events_per_s": rate,
                "seconds": seconds,
                "ratios": ratios,
            },
            indent=2,
        )
    )
    print("written", path)


if __name__ == "__main__":
    main()
