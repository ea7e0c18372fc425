"""A local HTTP service compatible with API Ninjas' ``caloriesburned`` endpoint.

It serves ``data/activities.csv`` so the pipeline, its tests and its benchmarks run without the
real API, and it can inject the faults a real API has (latency, 503s, hangs, HTML pages, 429s).

Built on aiohttp.web because the same library is fitray's calorie client (one dependency for
both sides), it is asyncio-native and fast at high concurrency — injected latency and hangs
are ``asyncio.sleep`` and cost no thread — which is what a load generator needs to hit.

Run it with ``python -m services.calorie_api --help``.
"""

from __future__ import annotations

from .app import create_app
from .config import CalorieServiceConfig, load_config

__all__ = ["CalorieServiceConfig", "create_app", "load_config"]
