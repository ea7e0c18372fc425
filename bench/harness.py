"""What every benchmark shares: sides timed alike, ratios of one run, a JSON record, a table.

A benchmark declares its *sides* (fitray's way, the original's way, the raw ceiling of the
same component), times each on the same data with the same warm-up -- interleaved over
rounds where the machine is noisy -- and states its ratios. :meth:`Bench.finish` prints one
table and writes ``bench/results/<bench>-<UTC stamp>.json`` with the commit (and whether the
tree was dirty), the machine, the parameters, every round's seconds, and the command that
reproduces the run. Sizes are always run in full: nothing here scales a sample up.

    bench = Bench("load", vars(args), size=rows, unit="rows")
    fitray = bench.side("fitray_load", "fitray load", FITRAY)
    insert = bench.side("row_insert", "row-by-row INSERT", ORIGINAL)
    interleave(3, [(fitray, load_once), (insert, insert_once)])
    bench.ratio(fitray, insert)
    bench.finish(args.out)

Every bench has ``--smoke`` (tiny sizes, run by tests/bench so a broken bench is caught) and
``--out``. ``python -m bench`` runs every ``bench_*.py`` whose module does not set
``SUITE = False``; defaults are sized so the whole suite takes about five minutes here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "CEILING",
    "FITRAY",
    "INFO",
    "ORIGINAL",
    "RESULTS_DIR",
    "ROOT",
    "Bench",
    "Ratio",
    "Side",
    "git_state",
    "interleave",
    "machine_facts",
    "parse_args",
    "porcelain_paths",
]

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
FITRAY, ORIGINAL, CEILING, INFO = "fitray", "original", "ceiling", "info"
PACKAGES = (
    "pyarrow", "pymongo", "pymongoarrow", "duckdb", "psycopg", "ray", "prefect",
    "prefect-ray", "confluent-kafka", "aiohttp", "pydantic", "numpy", "pandas",
)  # fmt: skip
T = TypeVar("T")


@dataclass
class Side:
    """One way of doing the work: ``size`` items per round, the seconds of every round."""

    key: str
    label: str
    role: str  # FITRAY, ORIGINAL, CEILING or INFO
    size: int
    unit: str
    seconds: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. per-round step times

    def time(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` once, add its wall-clock seconds as a round, return its value."""
        started = time.perf_counter()
        value = fn()
        self.seconds.append(time.perf_counter() - started)
        return value

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Items per second at the median round."""
        return self.size / self.median_s

    @property
    def spread(self) -> float:
        """(slowest - fastest) / median: 0.2 means the rounds differ by 20 % of the median."""
        return (max(self.seconds) - min(self.seconds)) / self.median_s

    def as_json(self) -> dict[str, Any]:
        measured = bool(self.seconds)
        return {
            "key": self.key, "label": self.label, "role": self.role, "size": self.size,
            "unit": self.unit, "rounds": len(self.seconds), "seconds": self.seconds,
            "median_s": self.median_s if measured else None,
            "min_s": min(self.seconds, default=None), "max_s": max(self.seconds, default=None),
            "spread": self.spread if measured else None,
            "rate_per_s": self.rate if measured else None, "extra": self.extra,
        }  # fmt: skip


@dataclass(frozen=True)
class Ratio:
    """Rate of ``numerator`` over rate of ``denominator`` (medians): 3.0 = three times faster."""

    numerator: Side
    denominator: Side

    @property
    def name(self) -> str:
        return f"{self.numerator.key} / {self.denominator.key}"

    @property
    def value(self) -> float | None:
        if not (self.numerator.seconds and self.denominator.seconds):
            return None
        return self.numerator.rate / self.denominator.rate

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "numerator": self.numerator.key,
            "denominator": self.denominator.key, "against": self.denominator.role,
            "value": self.value,
        }  # fmt: skip


class Bench:
    """One run of one benchmark; records its context when created and when finished."""

    def __init__(
        self, name: str, params: dict[str, Any], *, size: int = 0, unit: str = "items"
    ) -> None:
        self.name, self.size, self.unit = name, size, unit  # the sides' defaults
        self.params = {k: v for k, v in params.items() if k not in ("out", "smoke")}
        self.smoke = bool(params.get("smoke"))
        self.started_at = datetime.now(UTC)
        self.load_before = os.getloadavg()
        self.git = git_state()
        self.sides: list[Side] = []
        self.ratios: list[Ratio] = []
        self.notes: list[str] = []

    def side(
        self, key: str, label: str, role: str, *, size: int | None = None, unit: str | None = None
    ) -> Side:
        made = Side(key, label, role, size or self.size, unit or self.unit)
        self.sides.append(made)
        return made

    def ratio(self, numerator: Side, denominator: Side) -> Ratio:
        made = Ratio(numerator, denominator)
        self.ratios.append(made)
        return made

    def note(self, text: str) -> None:
        """A line for the reader of the JSON and the table: what the figures mean, caveats."""
        self.notes.append(text)

    @property
    def command(self) -> str:
        """The command that reproduces this run: every effective parameter as a flag."""
        flags: list[str] = []
        for key, value in self.params.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                flags.append(flag)
            elif value not in (False, None):
                flags += [flag, str(value)]
        return shlex.join(["python", "-m", f"bench.bench_{self.name}", *flags])

    def record(self) -> dict[str, Any]:
        return {
            "bench": self.name, "smoke": self.smoke, "command": self.command,
            "started_at": self.started_at.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
            "git": self.git, "machine": machine_facts(),
            "load_average": {"before": self.load_before, "after": os.getloadavg()},
            "params": self.params, "sides": [s.as_json() for s in self.sides],
            "ratios": [r.as_json() for r in self.ratios], "notes": self.notes,
        }  # fmt: skip

    def finish(self, out_dir: Path | None = RESULTS_DIR) -> Path | None:
        """Print the table; write the JSON into ``out_dir`` (None: do not write)."""
        record = self.record()
        print(render(record))
        if out_dir is None:
            return None
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}-{self.started_at:%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(record, indent=2, default=str) + "\n")
        print(f"wrote {_shown(path)}")
        return path


def interleave(rounds: int, sides: Sequence[tuple[Side, Callable[[], Any]]]) -> None:
    """Time each side once per round, round-robin, so slow drifts of the machine hit all."""
    for _ in range(rounds):
        for side, fn in sides:
            side.time(fn)


def render(record: dict[str, Any]) -> str:
    """The printed table of one run (from its JSON record, so a stored run renders alike)."""
    git, machine = record["git"], record["machine"]
    dirty = f", dirty: {len(git['dirty_paths'])} paths" if git["dirty"] else ""
    lines = [
        f"\n== {record['bench']}: {record['command']}",
        f"   commit {git['commit'][:10]}{dirty}; {machine['cores']} cores {machine['cpu_model']};"
        f" load average {record['load_average']['before'][0]:.2f} -> "
        f"{record['load_average']['after'][0]:.2f}",
        f"{'side':<64}{'role':>9}{'size':>11}{'rounds':>7}{'median s':>10}{'spread':>8}"
        f"{'rate/s':>13}",
    ]
    for s in record["sides"]:
        if not s["rounds"]:
            lines.append(f"{s['label'][:63]:<64}{s['role']:>9}  (not measured)")
            continue
        spread = f"{s['spread']:.0%}" if s["rounds"] > 1 else "-"
        lines.append(
            f"{s['label'][:63]:<64}{s['role']:>9}{s['size']:>11,}{s['rounds']:>7}"
            f"{s['median_s']:>10.3f}{spread:>8}{s['rate_per_s']:>13,.0f} {s['unit']}/s"
        )
    for r in record["ratios"]:
        shown = "n/a" if r["value"] is None else f"{r['value']:.3g}x"
        lines.append(f"ratio {r['name']:<66} (vs {r['against']}) {shown:>9}")
    lines += [f"note: {n}" for n in record["notes"]]
    return "\n".join(lines)


def git_state() -> dict[str, Any]:
    """The commit measured, and the tracked files that differed from it (others' edits too)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else ""

    dirty = porcelain_paths(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": git("rev-parse", "HEAD").strip() or "unknown", "dirty": bool(dirty),
            "dirty_paths": dirty}  # fmt: skip


def porcelain_paths(text: str) -> list[str]:
    """Paths of ``git status --porcelain`` lines (``XY path`` or ``XY old -> new``)."""
    return [line[3:].split(" -> ")[-1] for line in text.splitlines() if len(line) > 3]


def machine_facts(packages: Iterable[str] = PACKAGES) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(), "cpu_model": _cpu_model(), "memory_gb": _memory_gb(),
        "os": platform.platform(), "python": platform.python_version(),
        "packages": {name: _version(name) for name in packages},
    }  # fmt: skip


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, smoke: dict[str, Any]
) -> argparse.Namespace:
    """Add ``--smoke``/``--out``; with ``--smoke``, flags not given take the ``smoke`` sizes."""
    parser.add_argument(
        "--smoke", action="store_true", help="Tiny sizes: checks the bench runs, measures nothing."
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR, help="Directory of the JSON results."
    )
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(**smoke)
        args = parser.parse_args(argv)
    return args


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]  # MemTotal: N kB
        return round(int(first.split()[1]) / 1024**2, 1)
    except (OSError, IndexError, ValueError):
        return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
