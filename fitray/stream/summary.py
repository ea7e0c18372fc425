"""The counts of one stream run, updated as results arrive, shown as the run's summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StreamSummary"]


@dataclass
class StreamSummary:
    generated: int = 0
    enriched: int = 0
    produced: int = 0
    consumed: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)  # stage -> count
    batches: int = 0  # batches taken from the source
    batches_acked: int = 0  # of which Kafka acknowledged every record
    max_batches_in_flight: int = 0  # the most ever between the source and Kafka's ack
    lag: int | None = None
    unacknowledged: int = 0  # events whose batch Kafka had not acknowledged when the run ended
    waiting: str | None = None  # what the run waits for right now (a server), for a person
    stopped_by: str | None = None  # SIGINT / SIGTERM when a person or a supervisor stopped it
    elapsed_s: float = 0.0
    _started: float = field(default=0.0, repr=False)

    @property
    def dead_lettered(self) -> int:
        return sum(self.dead_letters.values())

    @property
    def throughput_per_s(self) -> float:
        """Events stored (or skipped as already stored) per second of the run."""
        return (self.stored + self.duplicates) / self.elapsed_s if self.elapsed_s else 0.0

    def start(self) -> None:
        self._started = time.monotonic()

    def finish(self) -> None:
        self.elapsed_s = time.monotonic() - self._started

    def add_produce(self, report: Any) -> None:
        self.enriched += report.enriched
        self.produced += report.produced
        self._add_dead_letters(report.dead_letters)

    def add_step(self, report: Any) -> None:
        self.consumed += report.consumed
        self.stored += report.stored
        self.duplicates += report.duplicates
        self._add_dead_letters(report.dead_letters)
        if self._started:
            self.elapsed_s = time.monotonic() - self._started

    def as_json(self) -> dict[str, Any]:
        """The counts for machines (``--json``): every field but the clock."""
        return {
            **{k: v for k, v in self.__dict__.items() if not k.startswith("_")},
            "dead_letters": {str(k): v for k, v in self.dead_letters.items()},
            "dead_lettered": self.dead_lettered,
            "throughput_per_s": round(self.throughput_per_s, 1),
        }

    def as_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("generated", self.generated),
            ("enriched", self.enriched),
            ("produced", self.produced),
            ("consumed", self.consumed),
            ("stored", self.stored),
            ("duplicates skipped", self.duplicates),
            ("dead-lettered", self.dead_lettered),
        ]
        text = [(name, f"{value:,}") for name, value in rows]
        text += [
            (f"  dead-lettered at {k}", f"{v:,}") for k, v in sorted(self.dead_letters.items())
        ]
        if self.stopped_by:
            drained = "drain bound passed" if self.unacknowledged else "in-flight work drained"
            text.append(("stopped by", f"{self.stopped_by} ({drained})"))
        if self.unacknowledged:
            rerun = f"{self.unacknowledged:,} (a rerun stores them once)"
            text.append(("not acknowledged by Kafka", rerun))
        if self.lag:
            text.append(("left uncommitted in Kafka", f"{self.lag:,} (redelivered next run)"))
        text += [
            ("elapsed", f"{self.elapsed_s:.1f} s"),
            ("throughput", f"{self.throughput_per_s:,.0f} events/s"),
        ]
        return text

    def _add_dead_letters(self, counts: dict[str, int]) -> None:
        for stage, n in counts.items():
            self.dead_letters[stage] = self.dead_letters.get(stage, 0) + n
