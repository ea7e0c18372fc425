"""The MongoDB client (MongoDB, Atlas, or the local stack's FerretDB)."""

from __future__ import annotations

from typing import Any

from fitray.config import Settings

__all__ = ["mongo_client"]


def mongo_client(
    settings: Settings, *, timeout_s: float = 3.0, socket_timeout_s: float = 30.0
) -> Any:
    """A ``MongoClient`` that fails fast when the server is away and reads dates as UTC.

    ``timeout_s`` bounds server selection and connecting; ``socket_timeout_s`` bounds one
    operation (the batch's overlapping watermark relies on that bound, see fitray.batch).
    """
    from pymongo import MongoClient

    millis = int(timeout_s * 1000)
    return MongoClient(
        settings.mongo_url.get_secret_value(),
        serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis,
        socketTimeoutMS=int(socket_timeout_s * 1000),
        tz_aware=True,
    )
