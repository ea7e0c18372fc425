"""The benchmark harness: ratios of medians, the reproducing command, the JSON record."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench.__main__ import discover
from bench.harness import (
    CEILING,
    FITRAY,
    ORIGINAL,
    Bench,
    interleave,
    parse_args,
    porcelain_paths,
)


def test_ratio_is_the_rate_of_medians_and_names_what_it_is_against() -> None:
    bench = Bench("demo", {"rows": 100})
    fast = bench.side("fast", "fast side", FITRAY, size=100, unit="rows")
    slow = bench.side("slow", "slow side", ORIGINAL, size=100, unit="rows")
    fast.seconds, slow.seconds = [1.0, 3.0, 2.0], [10.0, 30.0, 20.0]
    ratio = bench.ratio(fast, slow)
    assert (fast.median_s, fast.rate, fast.spread) == (2.0, 50.0, 1.0)
    assert ratio.value == pytest.approx(10.0)
    assert ratio.as_json()["against"] == ORIGINAL


def test_sides_of_different_sizes_compare_by_rate() -> None:
    bench = Bench("demo", {})
    big = bench.side("big", "1000 rows in 2 s", FITRAY, size=1000, unit="rows")
    small = bench.side("small", "100 rows in 1 s", CEILING, size=100, unit="rows")
    big.seconds, small.seconds = [2.0], [1.0]
    assert bench.ratio(big, small).value == pytest.approx(5.0)
    assert (
        bench.ratio(small, bench.side("x", "never run", CEILING, size=1, unit="rows")).value is None
    )


def test_interleave_times_each_side_once_per_round_in_turn() -> None:
    bench, calls = Bench("demo", {}), []
    a = bench.side("a", "a", FITRAY, size=1, unit="calls")
    b = bench.side("b", "b", ORIGINAL, size=1, unit="calls")
    interleave(3, [(a, lambda: calls.append("a")), (b, lambda: calls.append("b"))])
    assert calls == ["a", "b"] * 3
    assert len(a.seconds) == len(b.seconds) == 3


def test_finish_writes_the_run_with_commit_machine_and_command(tmp_path: Path) -> None:
    bench = Bench("demo", {"rows": 5, "in_full": True, "skip": False, "out": tmp_path})
    side = bench.side("only", "only side", FITRAY, size=5, unit="rows")
    side.time(lambda: None)
    path = bench.finish(tmp_path)
    assert path is not None and path.name.startswith("demo-") and path.suffix == ".json"
    record = json.loads(path.read_text())
    assert record["command"] == "python -m bench.bench_demo --rows 5 --in-full"
    assert len(record["git"]["commit"]) == 40
    assert record["machine"]["cores"] >= 1 and record["machine"]["packages"]["pyarrow"]
    assert record["sides"][0]["rounds"] == 1 and "out" not in record["params"]


def test_smoke_changes_only_the_sizes_not_given() -> None:
    def parser() -> argparse.ArgumentParser:
        made = argparse.ArgumentParser()
        made.add_argument("--rows", type=int, default=1000)
        made.add_argument("--rounds", type=int, default=3)
        return made

    smoke = {"rows": 10, "rounds": 1}
    assert (parse_args(parser(), [], smoke).rows, parse_args(parser(), [], smoke).smoke) == (
        1000,
        False,
    )
    args = parse_args(parser(), ["--smoke", "--rounds", "2"], smoke)
    assert (args.rows, args.rounds, args.smoke) == (10, 2, True)


def test_the_suite_finds_every_bench_module() -> None:
    assert {"metrics", "load", "enrichment", "stream", "batch"} <= set(discover(suite_only=True))


def test_dirty_paths_keep_their_first_character_and_name_the_new_side_of_a_rename() -> None:
    status = " M fitray/config.py\nM  bench/harness.py\nR  old/name.py -> new/name.py\n"
    assert porcelain_paths(status) == ["fitray/config.py", "bench/harness.py", "new/name.py"]
