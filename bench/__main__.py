"""Run the benchmark suite (``make bench``): each bench in its own process, then every ratio.

    python -m bench                  # every bench_*.py in the suite, default sizes (~5 min)
    python -m bench load metrics     # some of them
    python -m bench --smoke          # tiny sizes: does each bench still run?

A bench module leaves the default suite with ``SUITE = False`` (a soak, a long scaling run);
it still runs when named. Each bench writes its own JSON; a failed bench does not stop the
others, and the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import RESULTS_DIR, ROOT

__all__ = ["ORDER", "discover", "main"]

BENCH_DIR = ROOT / "bench"
ORDER = ("metrics", "load", "enrichment", "stream", "batch")  # quick ones first


def discover(*, suite_only: bool) -> list[str]:
    """Names of ``bench/bench_<name>.py``, known ones in ORDER, others after, by name."""
    names = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    if suite_only:
        names = [n for n in names if _in_suite(BENCH_DIR / f"bench_{n}.py")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _in_suite(path: Path) -> bool:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SUITE" for t in node.targets
        ):
            return bool(ast.literal_eval(node.value))
    return True


def main(argv: list[str] | None = None) -> int:
    known = discover(suite_only=False)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"Benches to run (default: the suite): {known}."
    )
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes for every bench.")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="Directory of the JSON.")
    args = parser.parse_args(argv)
    if unknown := sorted(set(args.names) - set(known)):
        parser.error(f"no bench named {unknown}; known: {', '.join(known)}")
    names = args.names or discover(suite_only=True)
    results: dict[str, list[Path]] = {}
    failed: list[str] = []
    started = time.time()
    for name in names:
        began = time.time()
        with tempfile.TemporaryDirectory(prefix=f"fitray-bench-{name}-") as own:
            # each bench writes into a directory of its own: someone else's run of the same
            # bench, writing into args.out meanwhile, is never taken for this one
            flags = ["--out", own] + (["--smoke"] if args.smoke else [])
            done = subprocess.run([sys.executable, "-m", f"bench.bench_{name}", *flags], cwd=ROOT)
            args.out.mkdir(parents=True, exist_ok=True)
            results[name] = [
                Path(shutil.move(path, args.out / path.name))
                for path in sorted(Path(own).glob(f"{name}-*.json"))
            ]
        if done.returncode != 0 or not results[name]:
            failed.append(name)
        print(f"-- {name}: {time.time() - began:.0f} s, exit {done.returncode}", flush=True)
    print(summary(results, time.time() - started))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def summary(results: dict[str, list[Path]], elapsed_s: float) -> str:
    lines = [f"\n== every ratio ({elapsed_s:.0f} s in all)"]
    for name, paths in results.items():
        for path in paths:
            record = json.loads(path.read_text())
            for ratio in record["ratios"]:
                value = "n/a" if ratio["value"] is None else f"{ratio['value']:.3g}x"
                lines.append(
                    f"{name:<11} {ratio['name']:<52} vs {ratio['against']:<9} {value:>9}"
                    f"   {path.name}"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
