"""Clients of the external systems, built from settings: the one place that connects.

Pipelines (stream, batch, warehouse) and the local stack both build their Kafka, S3, MongoDB,
Prefect and Ray connections here, so a production run on a cluster depends on this small layer
and never on :mod:`fitray.stack` (which only starts local development servers).
"""

from fitray.clients.kafka import (
    admin_client,
    consumer_config,
    ensure_topics,
    partition_lag,
    producer_config,
)
from fitray.clients.mongo import mongo_client
from fitray.clients.prefect import prefect_env
from fitray.clients.ray import NAMESPACE, connect_ray, prepare_driver_env, ray_init_kwargs
from fitray.clients.s3 import s3_client

__all__ = [
    "NAMESPACE",
    "admin_client",
    "connect_ray",
    "consumer_config",
    "ensure_topics",
    "mongo_client",
    "partition_lag",
    "prefect_env",
    "prepare_driver_env",
    "producer_config",
    "ray_init_kwargs",
    "s3_client",
]
