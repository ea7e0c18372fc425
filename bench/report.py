"""The headline table of BENCHMARKS.md, rendered from result files (never typed by hand).

    python -m bench.report                      # the newest result of every bench
    python -m bench.report bench/results/load-20261126T102249Z.json ...

One row per fitray figure that a ratio compares: its rate at the median round and spread, its
ratios to the original's way and to the raw ceiling (always fitray's rate over the other's,
whichever way the bench wrote the ratio), the command that reproduces the run, the commit
and the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.harness import CEILING, FITRAY, INFO, ORIGINAL, RESULTS_DIR, ROOT

__all__ = ["main", "newest_results", "rows"]

HEADER = (
    "| bench | figure | size | fitray (median, spread) | vs the original | vs the raw ceiling "
    "| command | commit | result |\n|---|---|---:|---:|---|---|---|---|---|"
)


def newest_results(directory: Path = RESULTS_DIR) -> list[Path]:
    """The newest non-smoke result of each bench in ``directory``."""
    newest: dict[str, Path] = {}
    for path in sorted(directory.glob("*-*.json")):
        record = json.loads(path.read_text())
        if not record.get("smoke"):
            newest[record["bench"]] = path  # sorted by UTC stamp: the last one wins
    return list(newest.values())


def rows(path: Path) -> list[str]:
    record = json.loads(path.read_text())
    sides = {s["key"]: s for s in record["sides"]}
    shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    by_figure: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for ratio in record["ratios"]:
        figure, other, value = _oriented(ratio, sides)
        by_figure.setdefault(figure["key"], []).append((other, value))
    out = []
    for key, against in by_figure.items():
        side = sides[key]
        spread = f" (spread {side['spread']:.0%})" if side["rounds"] > 1 else ""
        cells = [
            record["bench"], side["label"], f"{side['size']:,} {side['unit']}",
            _rate(side) + spread, _against(against, {ORIGINAL}),
            _against(against, {CEILING, FITRAY, INFO}),
            f"`{record['command']}`", f"`{record['git']['commit'][:10]}`"
            + (" (dirty)" if record["git"]["dirty"] else ""), f"[{path.name}]({shown})",
        ]  # fmt: skip
        out.append("| " + " | ".join(cells) + " |")
    return out


def _oriented(ratio: dict[str, Any], sides: dict[str, Any]) -> tuple[dict[str, Any], Any, float]:
    """(fitray's side, the other side, fitray's rate / the other's): every row reads alike."""
    top, bottom = sides[ratio["numerator"]], sides[ratio["denominator"]]
    if top["role"] not in (FITRAY, INFO) and bottom["role"] == FITRAY:
        return bottom, top, 1 / ratio["value"]
    return top, bottom, ratio["value"]


def _rate(side: dict[str, Any]) -> str:
    return f"{side['rate_per_s']:,.0f} {side['unit']}/s"


def _against(against: list[tuple[dict[str, Any], float]], roles: set[str]) -> str:
    parts = [
        f"**{value:.3g}x** {other['label']} ({_rate(other)})"
        for other, value in against
        if other["role"] in roles
    ]
    return "<br>".join(parts) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="Result files (default: newest).")
    args = parser.parse_args(argv)
    print(HEADER)
    for path in args.files or newest_results():
        print("\n".join(rows(path.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
