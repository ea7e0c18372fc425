"""What one batch run did, as the CLI and the tests read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["BatchSummary", "SliceResult"]


@dataclass(frozen=True)
class SliceResult:
    """One slice's merge, metrics and staging: its staged file and where the time went."""

    file: str
    rows: int
    seconds: dict[str, float]  # step name -> seconds inside the task
    node_id: str | None = None  # the Ray node it ran on (None outside Ray)


@dataclass
class BatchSummary:
    """Counts reconcile: documents_read = rows_inserted + rows_skipped.

    ``step_seconds``: a step run once is timed from its submission to its result; a step run
    per slice is the sum of its slices' times (measured inside each task), so parallel slices
    can add up to more than the run's ``elapsed_s``.
    """

    load_id: str
    backend: str = ""
    flow_run_id: str | None = None  # the Prefect flow run (its page in the Prefect UI)
    documents_read: int = 0
    rows_inserted: int = 0
    rows_skipped: int = 0
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    staging_files: tuple[str, ...] = ()
    step_seconds: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    nodes: tuple[str, ...] = ()  # Ray nodes the slices ran on
    report_files: tuple[str, ...] = ()  # report.html then the chart PNGs, refreshed after the load
    report_error: str | None = None  # why the report was not refreshed (the load still committed)

    def add_seconds(self, step: str, seconds: float) -> None:
        self.step_seconds[step] = self.step_seconds.get(step, 0.0) + seconds
