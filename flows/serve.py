"""``fitray batch --serve``: the batch flow as a scheduled Prefect deployment, stopped gently.

Prefect's runner, on SIGTERM, cancels the flow run in progress. A batch load is transactional,
so that loses nothing, but it throws away a run's work and an operator's Ctrl-C should not:
here the first SIGINT or SIGTERM stops scheduling new runs and lets the running one finish
(within ``stream_drain_timeout_s``), prints what was served and exits 130 / 143; a second
signal stops at once (the cancelled run is safe to re-run).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect.runner import Runner

from fitray.config import Settings, WarehouseBackend
from flows.etl import FLOW_NAME, configured_flow

__all__ = ["ServeSummary", "serve_batch"]

_IN_FLIGHT = ("PENDING", "RUNNING", "CANCELLING")


@dataclass
class ServeSummary:
    deployment: str
    runs: dict[str, int]  # final state type -> flow runs of this serve
    stopped_by: str | None


class _DrainingRunner(Runner):
    """A runner whose first signal drains (no new runs, the running one finishes)."""

    drain_timeout_s: float = 120.0
    stop_signal: signal.Signals | None = None
    served: UUID | None = None  # the deployment this runner serves

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        self.begin_drain(signal.SIGTERM)

    def begin_drain(self, sig: signal.Signals) -> None:
        if self.stop_signal is not None:
            sys.stderr.write(f"\n{sig.name} again: stopping at once (the run is safe to redo)\n")
            os._exit(128 + int(sig))
        self.stop_signal = sig
        sys.stderr.write(
            f"\n{sig.name}: no new batch runs; waiting up to {self.drain_timeout_s:g} s for the "
            f"running one ({'Ctrl-C' if sig == signal.SIGINT else 'signal'} again stops at once)\n"
        )
        poller = getattr(self, "_scheduled_run_poller", None)
        if poller is not None:
            poller.stopping = True  # stop picking up scheduled runs
        self.execute_in_background(self._drain_then_stop)

    async def _drain_then_stop(self) -> None:
        deadline = time.monotonic() + self.drain_timeout_s
        while time.monotonic() < deadline and await self.runs_in_flight():
            await asyncio.sleep(0.5)
        if await self.runs_in_flight():
            await self.astop()  # the drain's bound passed: Prefect cancels what still runs
            return
        # drained: stop the polling loops only; the runner's own stop would also "cancel" the
        # run whose process is still exiting, turning a completed run into a cancelled one
        self.started, self.stopping = False, True
        self._loops_task_group.cancel_scope.cancel()

    async def runs_in_flight(self) -> int:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            runs = await _runs_of(client, self.served)
        return sum(1 for run in runs if run.state_type.value in _IN_FLIGHT)


async def _runs_of(client: Any, deployment: UUID | None) -> list[Any]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    found = DeploymentFilter(id=DeploymentFilterId(any_=[deployment] if deployment else []))
    return list(await client.read_flow_runs(deployment_filter=found, limit=200))


def serve_batch(settings: Settings, backend: WarehouseBackend | None) -> ServeSummary:
    """Serve the batch flow every ``batch_interval_s`` until a signal; returns what it ran."""
    name = f"{FLOW_NAME}-every-{settings.batch_interval_s}s"
    runner = _DrainingRunner(name=name)
    runner.drain_timeout_s = settings.stream_drain_timeout_s
    served = runner.add_flow(
        configured_flow(settings),
        name=name,
        interval=settings.batch_interval_s,
        parameters={"backend": backend},
    )
    assert isinstance(served, UUID)  # called outside an event loop: the sync variant
    runner.served = served
    started_at = datetime.now(UTC)
    runs: dict[str, int] = {}

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGINT, runner.begin_drain, signal.SIGINT
        )
        await runner.start()

    asyncio.run(main())
    for state in asyncio.run(_states_since(runner.served, started_at)):
        runs[state] = runs.get(state, 0) + 1
    stopped = runner.stop_signal.name if runner.stop_signal else None
    return ServeSummary(name, runs, stopped)


async def _states_since(deployment: UUID | None, since: datetime) -> list[str]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        runs = await _runs_of(client, deployment)
    return [run.state_type.value for run in runs if run.start_time and run.start_time >= since]
