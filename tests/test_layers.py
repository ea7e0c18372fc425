"""Imports run one way (README, "Layout and layers"): entry points -> pipelines -> calories and
staging -> clients -> the ground; only the CLI may use the local-stack package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GROUND = {"schema", "config", "exceptions", "exercises", "dead_letters", "failpoints", "__init__"}
LAYER = {
    **dict.fromkeys(GROUND, 0),
    "clients": 1,
    "calories": 2,
    "staging": 2,
    "stream": 3,
    "batch": 3,
    "warehouse": 3,
    "dashboard": 4,
    "quicksight": 4,
    "cli": 4,
    "flows": 4,
    "__main__": 4,
    "stack": 1,  # local servers: on clients and the ground, used by the CLI only
}
FORBIDDEN = {  # same row, but one way only
    ("warehouse", "batch"), ("warehouse", "stream"), ("stream", "batch"), ("batch", "stream"),
    ("calories", "staging"), ("staging", "calories"),
}  # fmt: skip


def part_of(module: str) -> str | None:
    """'fitray.stream.sink' -> 'stream'; 'fitray.config' -> 'config'; 'flows.etl' -> 'flows'."""
    pieces = module.split(".")
    if pieces[0] == "flows":
        return "flows"
    if pieces[0] != "fitray":
        return None
    return pieces[1] if len(pieces) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


SOURCES = sorted([*(ROOT / "fitray").rglob("*.py"), *(ROOT / "flows").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    here = part_of(module)
    assert here in LAYER, f"{module}: unknown part {here!r}; add it to the layers"
    wrong = []
    for target in imports(path):
        there = part_of(target)
        if there is None or there == here:
            continue
        if there == "stack" and here != "cli":
            wrong.append(f"{target} (only the CLI may use the local stack)")
        elif LAYER[there] > LAYER[here] or (here, there) in FORBIDDEN:
            wrong.append(f"{target} (layer {there} above or beside {here})")
    assert not wrong, f"{module} imports {wrong}"
