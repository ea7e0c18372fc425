"""The headline table is rendered from a result file, fitray's rate always over the other's."""

from __future__ import annotations

from pathlib import Path

from bench.harness import CEILING, FITRAY, ORIGINAL, Bench
from bench.report import newest_results, rows


def write_run(tmp_path: Path, *, inverted: bool) -> Path:
    bench = Bench("demo", {"rows": 100}, size=100, unit="rows")
    fitray = bench.side("fitray", "fitray way", FITRAY)
    original = bench.side("original", "original way", ORIGINAL)
    ceiling = bench.side("ceiling", "raw way", CEILING)
    fitray.seconds, original.seconds, ceiling.seconds = [1.0, 2.0, 3.0], [20.0], [0.5]
    bench.ratio(fitray, original)
    bench.ratio(ceiling, fitray) if inverted else bench.ratio(fitray, ceiling)
    path = bench.finish(tmp_path)
    assert path is not None
    return path


def test_a_row_gives_rate_spread_both_ratios_command_commit_and_file(tmp_path: Path) -> None:
    [row] = rows(write_run(tmp_path, inverted=False))
    assert "| demo | fitray way | 100 rows | 50 rows/s (spread 100%) |" in row
    assert "**10x** original way (5 rows/s)" in row and "**0.25x** raw way (200 rows/s)" in row
    assert "`python -m bench.bench_demo --rows 100`" in row and "demo-" in row


def test_a_ratio_written_ceiling_over_fitray_reads_as_fitray_over_ceiling(tmp_path: Path) -> None:
    assert "**0.25x** raw way" in rows(write_run(tmp_path, inverted=True))[0]


def test_newest_results_keeps_one_run_per_bench(tmp_path: Path) -> None:
    first = write_run(tmp_path, inverted=False)
    second = first.with_name("demo-29991231T000000Z.json")
    second.write_text(first.read_text())
    assert newest_results(tmp_path) == [second]
