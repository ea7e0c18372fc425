"""The stream into MongoDB (FerretDB): fitray's consumer pool vs the original consumer vs the
raw limits of the store and the broker, and the whole pipeline end to end.

One seeded set of workouts (``--events``, the generator's seed, so the same event_ids
everywhere), enriched once with fixed calories and published once to a fresh topic with
fitray's producer settings (the same compression as the pipeline's producer, so the consumer
sides read the bytes the end-to-end run's consumers read). Every
consumer side drains all of it with a consumer group of its own into a database of its own:

- fitray, consumer pool: ``--consumers`` Ray actors of ``ConsumerWorker`` (consume up to 1,000,
  validate, ``insert_many(ordered=False)``, commit), the actors started before the clock;
- original: ``json.loads``, ``insert_one``, a synchronous commit, per message;
- ceiling, store: ``insert_many(ordered=False)`` of the same documents in batches of 1,000;
- ceiling, broker: ``consume(1000)`` of the same topic, nothing else;
- info: validation alone (``parse_enriched`` + ``to_document``) in this process;
- info: the same consumer pool with a 50 ms poll timeout instead of the setting's: how much
  of the pool's time is waiting for a last batch to fill at the end of a finite stream;
- fitray, end to end: ``StreamPipeline`` on the same seed -- generator, enrichment actors
  calling a private calorie service (no latency, client rate limit lifted), producer actor,
  Kafka, consumer actors, MongoDB -- timed by the run's own clock, from its first batch to
  the last commit (the actors' processes start meanwhile; stopping them is not counted, the
  JSON has the wall time with them);
- fitray, end to end with the ``table`` provider (calories from the table in-process, no
  HTTP): the same pipeline, its actors up, clients built and key router loaded before the
  clock as the consumer pool's are, ``--rounds`` times, interleaved with the pool's rounds:
  what the pipeline costs beyond the consumers, the calorie API aside.

For the pool and the table run, each round also records the CPU seconds every kind of process
used (``cpu_s`` in the side's ``extra``, from ``/proc``; see :mod:`bench.cpu`): on two shared
cores, what bounds the end-to-end run is the CPU its other stages take.

Every consumer clock starts before the group is joined. The fast sides run ``--rounds``
times, interleaved, each round with a fresh group and database; the original consumer and
the end-to-end run once. Broker, FerretDB, Ray and the bench share this machine's cores.

    python -m bench.bench_stream --help
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from bench.cpu import CpuSplit
from bench.harness import CEILING, FITRAY, INFO, ORIGINAL, Bench, interleave, parse_args
from bench.services import calorie_service
from fitray.clients.kafka import consumer_config, ensure_topics, producer_config
from fitray.clients.mongo import mongo_client
from fitray.clients.ray import connect_ray
from fitray.config import Settings, get_settings
from fitray.schema import EnrichedWorkout, parse_enriched
from fitray.stream.consumer import ConsumerWorker
from fitray.stream.enrich import Provider
from fitray.stream.pipeline import StreamOptions, StreamPipeline
from fitray.stream.sink import to_document
from fitray.stream.source import WorkoutGenerator

__all__ = ["main"]

SMOKE = {"events": 300, "rounds": 1, "consumers": 1, "enrich_actors": 1}


class Stream:
    """The bench's topics and databases (all removed at the end), named after one tag."""

    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args, self.tag = settings, args, uuid.uuid4().hex[:8]
        self.topic, self.dlq = f"bench.stream.{self.tag}", f"bench.stream.dlq.{self.tag}"
        self.topics, self._names = [self.topic, self.dlq], count()
        self.databases: list[str] = []
        self.pool_cpu: list[dict[str, float]] = []  # per round of the pool's drain
        ensure_topics(settings.kafka_bootstrap_servers, self.topics, partitions=args.partitions)
        self.mongo = mongo_client(settings)
        self.messages = enriched_messages(settings, args.events, args.seed)
        self.documents = [to_document(parse_enriched(value)) for _, value in self.messages]
        publish(settings, self.topic, self.messages)

    def fresh(self, what: str) -> str:
        """A new group id / database / topic name of this run."""
        name = f"bench_{what}_{self.tag}_{next(self._names)}"
        if what == "e2e":
            self.topics.append(name)
        self.databases.append(name)
        return name

    def collection(self, database: str) -> Any:
        return self.mongo[database][self.settings.stream_collection]

    def consumer_pool(
        self, n: int | None = None, poll_timeout_s: float | None = None
    ) -> tuple[Callable[[], None], Callable[[], None]]:
        """A pool of ConsumerWorker actors, started: (drain the topic, stop the pool)."""
        import ray

        settings = self.settings
        if poll_timeout_s is not None:
            settings = settings.model_copy(update={"stream_poll_timeout_s": poll_timeout_s})
        group, database, want = self.fresh("pool"), self.fresh("pool"), n or self.args.events
        remote: Any = ray.remote(num_cpus=0)(ConsumerWorker)
        actors = [
            remote.remote(settings, self.topic, group_id=group, database=database,
                          dead_letter_topic=self.dlq)
            for _ in range(self.args.consumers)
        ]  # fmt: skip
        ray.get([a.close.remote() for a in actors])  # processes up, imports done: no clock yet
        steps: dict[Any, Any] = {}

        def drain() -> None:
            """Until every event is stored and committed (the group join included)."""
            split = CpuSplit()
            steps.update({a.step.remote(): a for a in actors})
            stored = 0
            while stored < want:
                ready, _ = ray.wait(list(steps), num_returns=1)
                for ref in ready:
                    actor = steps.pop(ref)
                    stored += ray.get(ref).stored
                    steps[actor.step.remote()] = actor
            if poll_timeout_s is None and n is None:  # the pool side itself, not a variant
                self.pool_cpu.append(split.stop())

        def stop() -> None:
            ray.get(list(steps))
            ray.get([a.close.remote() for a in actors])
            for actor in actors:
                ray.kill(actor)

        return drain, stop

    def original_consumer(self, n: int | None = None) -> None:
        consumer = self._consumer(self.fresh("orig"))
        collection = self.collection(self.fresh("orig"))
        done, want = 0, n or self.args.events
        while done < want:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            record = json.loads(message.value() or b"null")
            record["_id"] = record["event_id"]
            collection.insert_one(record)
            consumer.commit(message=message, asynchronous=False)
            done += 1
        consumer.close()

    def raw_bulk_insert(self) -> None:
        collection = self.collection(self.fresh("bulk"))
        for i in range(0, len(self.documents), 1000):
            collection.insert_many(self.documents[i : i + 1000], ordered=False)

    def raw_consume(self) -> None:
        consumer, got = self._consumer(self.fresh("raw")), 0
        while got < self.args.events:  # never waits for a batch that cannot fill
            batch = consumer.consume(min(1000, self.args.events - got), 1.0)
            got += sum(1 for m in batch if not m.error())
        consumer.close()

    def validate_only(self) -> None:
        for _, value in self.messages:
            to_document(parse_enriched(value))

    def end_to_end(self, n: int | None = None, provider: Provider = "http") -> Any:
        return timed_run(self.pipeline(n, provider), n or self.args.events)

    def pipeline(self, n: int | None = None, provider: Provider = "http") -> StreamPipeline:
        a, name = self.args, self.fresh("e2e")
        options = StreamOptions(
            count=n or a.events, seed=a.seed, topic=name, dead_letter_topic=self.dlq,
            group_id=name, database=name, enrich_actors=a.enrich_actors,
            consumer_actors=a.consumers, provider=provider,
        )  # fmt: skip
        return StreamPipeline(self.settings, options)

    def warm_end_to_end(self, provider: Provider = "table") -> tuple[Callable[[], Any], Any]:
        """A pipeline whose actors are up, clients built and key router loaded -- as the
        consumer pool's actors are before its clock: (run it, the pipeline)."""
        import ray

        pipeline = self.pipeline(provider=provider)
        pipeline.start()
        ray.get([e.enrich.remote([]) for e in pipeline.enrichers]
                + [c.close.remote() for c in pipeline.consumers]
                + [pipeline.producer.flush.remote()])  # fmt: skip
        pipeline._router()  # reads the mapping on first use: before the clock, like the actors
        return lambda: timed_run(pipeline, self.args.events, CpuSplit()), pipeline

    def _consumer(self, group: str) -> Consumer:
        consumer = Consumer(consumer_config(self.settings, group))
        consumer.subscribe([self.topic])
        return consumer

    def remove(self) -> None:
        for name in self.databases:
            self.mongo.drop_database(name)
        self.mongo.close()
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap_servers})
        for future in admin.delete_topics(self.topics).values():
            future.result(timeout=30)


def timed_run(pipeline: StreamPipeline, events: int, split: CpuSplit | None = None) -> Any:
    """Run; the summary's ``elapsed_s`` becomes the run's clock at its last commit (the first
    step that found every event stored), not after the drain check and the actors' stop;
    ``split`` (CPU per process) stops there too."""
    done_at: list[float] = []

    def watch(summary: Any) -> None:
        if not done_at and summary.stored + summary.dead_lettered >= events:
            done_at.append(summary.elapsed_s)
            if split is not None:
                split.stop()

    summary = pipeline.run(watch)
    assert summary.stored + summary.dead_lettered == events, summary
    summary.elapsed_s = done_at[0]
    summary.cpu_s = split.seconds if split is not None else {}
    return summary


def enriched_messages(settings: Settings, events: int, seed: int) -> list[tuple[bytes, bytes]]:
    """The generator's workouts for ``seed``, enriched with fixed calories, as Kafka records."""
    now, out = datetime.now(UTC), []
    generator = WorkoutGenerator.from_settings(settings, seed=seed, count=events)
    for batch in generator.batches(1000):
        for w in batch.workouts:
            e = EnrichedWorkout(
                **w.model_dump(), activity="Running, 6 mph (10 min mile)", resolution="exact",
                kcal_per_hour=600.0, total_kcal=w.duration_min * 10, provider="http",
                fetched_at=now, attempts=1, fallback_used=False,
            )  # fmt: skip
            out.append((e.event_id.encode(), e.model_dump_json().encode()))
    return out


def publish(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(producer_config(settings))
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0, "messages left unpublished"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000, help="Events, every side, in full.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of the fast sides.")
    parser.add_argument("--partitions", type=int, default=3, help="Partitions of the topics.")
    parser.add_argument("--consumers", type=int, default=2, help="Consumer actors.")
    parser.add_argument("--enrich-actors", type=int, default=2, help="End to end: enrichers.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the workouts.")
    args = parse_args(parser, argv, SMOKE)
    with calorie_service(0.0) as url:
        settings = get_settings().model_copy(update={
            "calorie_api_url": url, "calorie_api_key": None, "calorie_rate_limit_per_s": 1e6,
            "calorie_rate_burst": 10_000, "kafka_partitions": args.partitions,
        })  # fmt: skip
        connect_ray(settings)
        stream = Stream(settings, args)
        try:
            run(stream, args)
        finally:
            stream.remove()
    return 0


def run(stream: Stream, args: argparse.Namespace) -> None:
    if not args.smoke:  # every side once on a few events: processes, imports, caches
        warm = min(args.events, 300)
        stream.end_to_end(warm)
        drain, stop = stream.consumer_pool(warm)
        drain()
        stop()
        stream.original_consumer(warm)
        stream.validate_only()
    bench = Bench("stream", vars(args), size=args.events, unit="events")
    e2e = bench.side("end_to_end", "fitray end to end: StreamPipeline, HTTP calorie API", FITRAY)
    table = bench.side("end_to_end_table", "fitray end to end: StreamPipeline, table provider, "
                       "actors up before the clock", FITRAY)  # fmt: skip
    pool = bench.side("consumer_pool", f"fitray consumer pool: {args.consumers} Ray actors", FITRAY)
    original = bench.side("original_consumer", "original: insert_one + sync commit per message",
                          ORIGINAL)  # fmt: skip
    bulk = bench.side("raw_bulk_insert", "ceiling: insert_many(ordered=False) x 1,000", CEILING)
    consume = bench.side("raw_consume", "ceiling: consume(1000), nothing else", CEILING)
    validate = bench.side("validate_only", "info: parse_enriched + to_document only", INFO)
    short = bench.side("consumer_pool_poll_50ms", "info: the same pool, 50 ms poll timeout "
                       f"(default {stream.settings.stream_poll_timeout_s:g} s)", INFO)  # fmt: skip
    table_summaries: list[Any] = []
    for _ in range(args.rounds):
        drain, stop = stream.consumer_pool()  # actors start and stop outside the clock
        sides = [(pool, drain), (bulk, stream.raw_bulk_insert), (consume, stream.raw_consume)]
        interleave(1, [*sides, (validate, stream.validate_only)])
        stop()
        run_table, pipeline = stream.warm_end_to_end()  # likewise: up before, stopped after
        table.time(run_table)
        table.seconds[-1] = pipeline.summary.elapsed_s  # to the last commit (timed_run)
        table_summaries.append(pipeline.summary)
        if not args.smoke:  # the same code as the pool's, only a setting differs
            drain, stop = stream.consumer_pool(poll_timeout_s=0.05)
            short.time(drain)
            stop()
    original.time(stream.original_consumer)
    summary = e2e.time(stream.end_to_end)
    wall_s, e2e.seconds[-1] = e2e.seconds[-1], summary.elapsed_s
    e2e.extra = {"stored": summary.stored, "dead_lettered": summary.dead_lettered,
                 "wall_s_with_actor_setup_and_teardown": wall_s}  # fmt: skip
    table.extra = {"stored": [t.stored for t in table_summaries],
                   "dead_lettered": [t.dead_lettered for t in table_summaries],
                   "cpu_s": [t.cpu_s for t in table_summaries]}  # fmt: skip
    pool.extra = {"cpu_s": stream.pool_cpu}
    for numerator, denominator in [(pool, original), (e2e, original), (pool, bulk),
                                   (pool, consume), (e2e, pool), (table, pool),
                                   (short, bulk)]:  # fmt: skip
        if numerator.seconds:  # the short-poll pool is skipped in a smoke run
            bench.ratio(numerator, denominator)
    bench.finish(args.out)


if __name__ == "__main__":
    sys.exit(main())
