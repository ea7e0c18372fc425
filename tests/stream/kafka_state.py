"""What Kafka holds for a topic and a consumer group: the tests' second witness next to the
store (the store's primary key alone can never show a duplicate)."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from fitray.clients.kafka import consumer_config
from fitray.config import Settings


def committed_offsets(settings: Settings, group: str, topic: str) -> dict[int, int]:
    """Partition -> the group's committed offset (0 where nothing is committed yet)."""
    probe = Consumer(consumer_config(settings, group))
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        wanted = [TopicPartition(topic, p) for p in sorted(partitions)]
        return {tp.partition: max(tp.offset, 0) for tp in probe.committed(wanted, timeout=10)}
    finally:
        probe.close()


def topic_size(settings: Settings, topic: str) -> int:
    """Messages in the topic: the sum of its partitions' high watermarks (nothing expires)."""
    probe = Consumer(consumer_config(settings, "fitray-test-probe"))
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        )
    finally:
        probe.close()
