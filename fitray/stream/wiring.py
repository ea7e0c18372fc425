"""The stream's parts, resolved and started: names from options and settings, the actors, the
source. :mod:`fitray.stream.pipeline` drives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fitray.clients.kafka import ensure_topics
from fitray.config import Settings
from fitray.stream.consumer import ConsumerWorker
from fitray.stream.enrich import EnrichmentWorker, Provider
from fitray.stream.producer import BatchProducer
from fitray.stream.source import RawTopicSource, WorkoutGenerator

__all__ = ["Actors", "RunPlan", "StreamOptions", "open_source", "plan_run", "start_actors",
           "stop_actors"]  # fmt: skip

RAW_TOPIC_IDLE_STOP_S = 5.0  # the raw-topic source ends a run after this long without input


@dataclass
class StreamOptions:
    """One run; ``None`` means the setting of the same name (see :mod:`fitray.config`)."""

    count: int | None = 1000
    duration_s: float | None = None
    rate_per_s: float | None = None
    seed: int = 0
    source: Literal["generator", "topic"] = "generator"
    provider: Provider = "http"
    consume: bool = True
    enrich_actors: int | None = None
    consumer_actors: int | None = None
    batch_size: int | None = None
    max_in_flight: int | None = None
    raw_topic: str | None = None
    topic: str | None = None
    dead_letter_topic: str | None = None
    group_id: str | None = None
    database: str | None = None
    drain_timeout_s: float | None = None


@dataclass(frozen=True)
class RunPlan:
    """What a run's options and the settings resolve to."""

    topic: str
    dead_letter_topic: str
    raw_topic: str
    group_id: str
    batch_size: int
    max_in_flight: int
    drain_timeout_s: float


def plan_run(settings: Settings, options: StreamOptions) -> RunPlan:
    o, s = options, settings
    batch_size = o.batch_size or s.stream_batch_size
    if o.rate_per_s:  # a paced batch spans at most ~0.5 s, so pacing never stalls results
        batch_size = min(batch_size, max(1, int(o.rate_per_s / 2)))
    return RunPlan(
        topic=o.topic or s.kafka_enriched_topic,
        dead_letter_topic=o.dead_letter_topic or s.kafka_dead_letter_topic,
        raw_topic=o.raw_topic or s.kafka_raw_topic,
        group_id=o.group_id or s.stream_consumer_group,
        batch_size=batch_size,
        max_in_flight=o.max_in_flight or s.stream_max_in_flight,
        drain_timeout_s=o.drain_timeout_s or s.stream_drain_timeout_s,
    )


@dataclass
class Actors:
    enrichers: list[Any] = field(default_factory=list)
    producer: Any = None
    consumers: list[Any] = field(default_factory=list)


def start_actors(settings: Settings, options: StreamOptions, plan: RunPlan) -> Actors:
    """The topics (created if missing) and the actors: supervised, zero-CPU, dealt over the
    cluster's nodes in turn (:func:`node_turns`)."""
    import ray

    o, s = options, settings
    topics = [plan.topic, plan.dead_letter_topic]
    topics += [plan.raw_topic] if o.source == "topic" else []
    ensure_topics(s.kafka_bootstrap_servers, topics, partitions=s.kafka_partitions)
    remote: Any = ray.remote  # Ray's stubs know no options dict
    supervised = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": -1}
    enricher = remote(**supervised)(EnrichmentWorker)
    producer = remote(max_concurrency=plan.max_in_flight + 2, **supervised)(BatchProducer)
    enrichers = node_turns(o.enrich_actors or s.stream_enrich_actors)
    actors = Actors(
        [enricher.options(scheduling_strategy=on).remote(s, provider=o.provider)
         for on in enrichers],
        producer.options(scheduling_strategy=node_turns(1)[0]).remote(
            s, plan.topic, plan.dead_letter_topic
        ),
    )  # fmt: skip
    if o.consume:
        consumer = remote(**supervised)(ConsumerWorker)
        actors.consumers = [
            consumer.options(scheduling_strategy=on).remote(
                s,
                plan.topic,
                group_id=plan.group_id,
                database=o.database,
                dead_letter_topic=plan.dead_letter_topic,
            )
            for on in node_turns(o.consumer_actors or s.stream_consumer_actors)
        ]
    return actors


def node_turns(count: int) -> list[Any]:
    """Where ``count`` actors of one kind go: the live nodes in turn, the driver's first, as a
    soft node affinity (a node that is gone, or full, leaves the choice to Ray, so an actor
    restarts elsewhere after a node is lost). Ray's SPREAD is best effort for zero-CPU actors:
    it had put all four stream actors of a run on one of two nodes."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    others = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != here)
    nodes = [here, *others]
    return [NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True) for i in range(count)]


def stop_actors(actors: Actors, timeout_s: float = 30.0) -> None:
    """Let every actor close its connections (within ``timeout_s``), then end them for good."""
    import ray

    everyone = [*actors.consumers, actors.producer, *actors.enrichers]
    closing = [actor.close.remote() for actor in everyone if actor is not None]
    ray.wait(closing, num_returns=len(closing), timeout=timeout_s)
    for actor in everyone:
        if actor is not None:
            ray.kill(actor, no_restart=True)


def open_source(settings: Settings, options: StreamOptions, plan: RunPlan) -> Any:
    o = options
    if o.source == "topic":
        group = f"{plan.group_id}-enrich"
        return RawTopicSource(settings, plan.raw_topic, group, idle_stop_s=RAW_TOPIC_IDLE_STOP_S)
    return WorkoutGenerator.from_settings(
        settings, seed=o.seed, count=o.count, duration_s=o.duration_s, rate_per_s=o.rate_per_s
    )
