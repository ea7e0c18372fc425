"""What the stream's driver watches besides results: the drain, the Ray head, the waits.

Each watcher turns "nothing happens" into a decision within a bound: the drain at the end of a
run, a Ray head that stopped answering (:class:`HeadWatch`), a dependency the pipeline waits
for (:class:`Waits`: the document store, the calorie API), so a run never hangs silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fitray.clients.ray import RayHeadLost, head_reachable
from fitray.stream.exceptions import StoreUnavailable

__all__ = ["PROGRESS_QUIET_S", "Drain", "HeadWatch", "StoreWatch", "Waits"]

PROGRESS_QUIET_S = 2.0  # no result for this long: time to look at the head and the waits
LAG_CHECK_INTERVAL_S = 0.5


class Drain:
    """Paces lag checks once production is done, and gives up after ``timeout_s``."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._since: float | None = None
        self._next = 0.0

    def start(self) -> None:
        """The bound runs from the first call on (also while batches still wait for Kafka)."""
        self._since = self._since or time.monotonic()

    def due(self) -> bool:
        self.start()
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + LAG_CHECK_INTERVAL_S
        return True

    def expired(self) -> bool:
        return self._since is not None and time.monotonic() - self._since > self.timeout_s


class HeadWatch:
    """Notices a lost Ray head: no result for a while, and its GCS port refuses connections."""

    def __init__(
        self, address: str, lost_after_s: float, probe: Callable[[str], bool] = head_reachable
    ) -> None:
        self.address, self.lost_after_s, self._probe = address, lost_after_s, probe
        self._last_progress = time.monotonic()
        self._unreachable_since: float | None = None
        self._next_probe = 0.0

    def progressed(self) -> None:
        self._last_progress, self._unreachable_since = time.monotonic(), None

    def check(self) -> None:
        """Raise :class:`RayHeadLost` once the head has refused connections for the bound."""
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_QUIET_S or now < self._next_probe:
            return
        self._next_probe = now + 1.0
        if self._probe(self.address):
            self._unreachable_since = None
            return
        self._unreachable_since = self._unreachable_since or now
        if now - self._unreachable_since >= self.lost_after_s:
            raise RayHeadLost(
                f"lost the Ray head at {self.address}: it has not answered for "
                f"{self.lost_after_s:g} s (FITRAY_RAY_HEAD_LOST_AFTER_S). Nothing is lost: events "
                "not yet stored are stored by a re-run (the same seed gives the same event_ids; "
                "the raw topic and the enriched topic resume from committed offsets). Restart "
                "the head (`fitray stack up`) and re-run the same command."
            )


class Waits:
    """Dependencies the run is waiting for: since when, and how to say it to a person."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self.detail: dict[str, str] = {}

    def waiting(self, what: str, detail: str) -> float:
        """Record that ``what`` is being waited for; returns for how long, in seconds."""
        now = time.monotonic()
        since = self._since.setdefault(what, now)
        self.detail[what] = detail
        return now - since

    def over(self, what: str) -> None:
        self._since.pop(what, None)
        self.detail.pop(what, None)

    def describe(self) -> str | None:
        return "; ".join(self.detail.values()) or None


class StoreWatch:
    """Consumers that cannot write (the store or Kafka away) are waited for, within a bound."""

    def __init__(self, waits: Waits, bound_s: float) -> None:
        self.waits, self.bound_s = waits, bound_s

    def observe(self, waiting_for: str | None, retrying: str | None, committed: int) -> None:
        """Feed one consumer step's outcome; raises once the wait passes the bound."""
        if waiting_for is None:
            if committed:
                self.waits.over("store")
            return
        waited = self.waits.waiting(
            "store", f"waiting for {waiting_for} ({retrying}); giving up after {self.bound_s:g} s"
        )
        if waited > self.bound_s:
            raise StoreUnavailable(
                f"{waiting_for} has refused the consumers' writes for {waited:.0f} s "
                f"(FITRAY_STREAM_STORE_MAX_WAIT_S={self.bound_s:g}; last: {retrying}). Nothing "
                "is lost: the events wait uncommitted in Kafka; bring it back (`fitray stack "
                "up`) and run `fitray stream consume` or re-run the same command."
            )
