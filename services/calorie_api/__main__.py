"""``python -m services.calorie_api``: serve the calorie API until SIGTERM or SIGINT.

Every flag mirrors a field of :class:`CalorieServiceConfig` (and its environment variable),
so the help text, the environment and the validation cannot drift apart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import types
import typing
from pathlib import Path

from aiohttp import web

from fitray.exceptions import FitrayError

from .app import STATE, create_app
from .config import ENV_PREFIX, CalorieServiceConfig, load_config

log = logging.getLogger("services.calorie_api")

SHUTDOWN_TIMEOUT_S = 5.0  # in-flight requests get this long; hung fault requests are fake work
# aiohttp's parser rejects request lines over 8190 bytes with a text/plain 400; a larger limit
# lets an over-long ``activity`` reach the handler and get the JSON error that names it.
MAX_REQUEST_LINE_BYTES = 64 * 1024


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.calorie_api",
        description="Serve an API-Ninjas-compatible caloriesburned endpoint from the calorie "
        f"table, with optional injected faults. Each flag also reads {ENV_PREFIX}<FLAG>.",
    )
    for name, field in CalorieServiceConfig.model_fields.items():
        flag, env = "--" + name.replace("_", "-"), ENV_PREFIX + name.upper()
        default = "" if field.default in (None, False) else f" Default: {field.default}."
        help_text = f"{field.description}{default} [env {env}]"
        kind = _value_type(field.annotation)
        if kind is bool:
            parser.add_argument(
                flag, action="store_true", default=argparse.SUPPRESS, help=help_text
            )
        else:
            parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=help_text)
    return parser


def _value_type(annotation: object) -> type:
    """``float | None`` -> float; secrets are typed as plain text on the command line."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if annotation in (bool, int, float, Path):
        return annotation  # type: ignore[return-value]
    return str


async def serve(config: CalorieServiceConfig) -> None:
    app = create_app(config)
    access_log = logging.getLogger("aiohttp.access") if config.access_log else None
    runner = web.AppRunner(
        app,
        access_log=access_log,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        max_line_size=MAX_REQUEST_LINE_BYTES,
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, config.host, config.port).start()
        log.info("calorie_api listening on %s (%s)", _url(runner), _summary(app[STATE].config, app))
        await stop.wait()
        log.info("calorie_api shutting down")
    finally:
        await runner.cleanup()


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _summary(config: CalorieServiceConfig, app: web.Application) -> str:
    faults = [
        f"{name}={getattr(config, name)}"
        for name in ("latency_ms", "jitter_ms", "error_rate", "timeout_rate", "garbage_rate")
        if getattr(config, name)
    ]
    if config.rate_limit_per_s:
        faults.append(f"rate_limit_per_s={config.rate_limit_per_s} burst={config.burst}")
    key = "required" if config.required_key else "not required"
    return (
        f"{len(app[STATE].table)} activities, api key {key}, faults: {', '.join(faults) or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(load_config(**vars(args))))
    except FitrayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, the host does not exist
        print(f"error: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
