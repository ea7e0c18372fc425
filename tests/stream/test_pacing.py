"""A paced source (``--rate``) is never waited for inside ``next()``: the driver asks how long
until the next batch is due and serves consumers' steps and acknowledgements meanwhile. (A
soak at 1,000 events/s found the driver asleep in the generator's pacing for up to six batches
in a row, so consumers were stepped every ~3 s and stored ~400 events/s while 1,000 came in.)"""

from __future__ import annotations

import time
from typing import Any

import pytest

import fitray.stream.wiring as wiring
from fitray.stream.pipeline import StreamPipeline
from fitray.stream.source import WorkoutGenerator
from tests.stream.conftest import StreamEnv, expected_ids
from tests.stream.helpers import TITLES

pytestmark = pytest.mark.slow
COUNT, RATE, BATCH = 400, 100.0, 50


class RecordingGenerator(WorkoutGenerator):
    """The generator, recording how long each ``next()`` slept in its pacing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slept: list[float] = []

    def _pace(self, started: float, n: int) -> None:
        before = time.monotonic()
        super()._pace(started, n)
        self.slept.append(time.monotonic() - before)


def test_a_paced_source_is_only_asked_for_a_batch_when_it_is_due(
    stream_env: StreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = RecordingGenerator(TITLES, seed=23, count=COUNT, rate_per_s=RATE)
    monkeypatch.setattr(wiring, "WorkoutGenerator", _returning(generator))
    options = stream_env.options(count=COUNT, seed=23, rate_per_s=RATE, batch_size=BATCH)

    summary = StreamPipeline(stream_env.settings, options).run()

    assert summary.stored == COUNT and set(stream_env.stored_ids()) == _ids(generator)
    assert len(generator.slept) == COUNT // BATCH
    # every batch after the first (the source's clock starts in its first next()) was asked
    # for once due: its pacing had nothing left to wait (before the fix each next() slept
    # until its batch was due, up to BATCH / RATE = 0.5 s)
    assert max(generator.slept[1:]) < 0.01, generator.slept


def test_due_in_counts_down_to_each_batch_and_is_zero_unpaced() -> None:
    assert WorkoutGenerator(TITLES, count=10).due_in(5) == 0.0
    paced = WorkoutGenerator(TITLES, count=10, rate_per_s=20.0)
    assert paced.due_in(5) == 0.0  # not started
    batches = paced.batches(5)
    next(batches)  # the first 5: due 0.25 s after the start
    assert 0.0 < paced.due_in(5) <= 0.25  # the next 5: 0.25 s after the first
    next(batches)
    assert paced.due_in(5) == 0.0  # count reached: nothing more is ever due
    assert next(batches, None) is None


def _returning(generator: WorkoutGenerator) -> type:
    class Factory:
        @staticmethod
        def from_settings(*_: object, **__: object) -> WorkoutGenerator:
            return generator

    return Factory


def _ids(generator: WorkoutGenerator) -> set[str]:
    return expected_ids(generator.seed, generator.generated)
