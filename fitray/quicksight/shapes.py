"""Requests checked against botocore's QuickSight service model, offline.

botocore's ``ParamValidator`` checks types, required members and minimums (not of maps). The
model states more, and QuickSight enforces it only once the request reaches AWS: enum values,
maximum lengths and sizes, map sizes, regex patterns, and "union type" structures (documented
as "only one of the attributes can be defined"). :func:`check_request` checks all of it,
walking the input shape and the params together, so a wrong definition fails here, not in AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

__all__ = [
    "Node",
    "Violation",
    "check_request",
    "check_value",
    "operation_model",
    "service_model",
    "walk",
]

_UNION_DOC = "union type structure"
_NUMBERS = {"integer", "long", "double", "float"}


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (operation and path in its params) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Node:
    """A value in a request with the shape the model gives it and the structure holding it."""

    path: str
    shape: Shape
    value: Any
    parent: str | None  # shape name of the enclosing structure, if any
    member: str | None  # member name in that structure (list items keep their list's)


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """QuickSight's model as installed with botocore (no credentials, no network)."""
    return botocore.session.get_session().get_service_model("quicksight")


def operation_model(operation: str) -> OperationModel:
    return service_model().operation_model(operation)


def walk(
    shape: Shape,
    value: Any,
    path: str = "",
    parent: str | None = None,
    member: str | None = None,
) -> Iterator[Node]:
    """Every node of ``value`` paired with its shape; values of the wrong type are skipped."""
    yield Node(path, shape, value, parent, member)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        for name, item in value.items():
            if name in members:
                yield from walk(members[name], item, _join(path, name), shape.name, name)
    elif kind == "list" and isinstance(value, list):
        item_shape = shape.member  # type: ignore[attr-defined]
        for index, item in enumerate(value):
            yield from walk(item_shape, item, f"{path}[{index}]", parent, member)
    elif kind == "map" and isinstance(value, dict):
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        for key, item in value.items():
            yield from walk(key_shape, key, f"{path}<key {key}>", parent, member)
            yield from walk(value_shape, item, f"{path}[{key}]", parent, member)


def check_request(operation: str, params: dict[str, Any]) -> list[Violation]:
    """Everything the model says about ``params`` for ``operation``, as violations."""
    shape = operation_model(operation).input_shape
    found = [Violation(operation, line) for line in _botocore_report(params, shape)]
    for node in walk(shape, params):
        found += [Violation(f"{operation} {node.path}", m) for m in _constraint_messages(node)]
    return found


def check_value(shape_name: str, value: Any) -> list[str]:
    """What the model says about one value of the named shape (an option, before any request)."""
    shape = service_model().shape_for(shape_name)
    found = _constraint_messages(Node("", shape, value, None, None))
    meta = shape.metadata
    if isinstance(value, str) and "min" in meta and len(value) < meta["min"]:
        found.insert(0, f"length {len(value)} is below the minimum {meta['min']}")
    return found


def _botocore_report(params: dict[str, Any], shape: Shape) -> list[str]:
    report = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return []
    return [line.strip() for line in report.generate_report().splitlines() if line.strip()]


def _constraint_messages(node: Node) -> list[str]:
    shape, value, meta = node.shape, node.value, node.shape.metadata
    kind = shape.type_name
    if kind == "string" and isinstance(value, str):
        return _string_messages(value, meta)
    if kind in _NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
        return _range_messages(value, meta, "value")
    if kind == "list" and isinstance(value, list):
        return _range_messages(len(value), meta, "length")
    if kind == "map" and isinstance(value, dict):
        return _range_messages(len(value), meta, "size", check_min=True)
    if _is_union(shape) and isinstance(value, dict) and len(value) != 1:
        return [f"{shape.name} is a union: set exactly one of its members, not {len(value)}"]
    return []


def _is_union(shape: Shape) -> bool:
    """Flagged as a union, or documented as one (most of QuickSight's are only documented)."""
    return shape.type_name == "structure" and (
        bool(shape.metadata.get("union")) or _UNION_DOC in shape.documentation
    )


def _string_messages(value: str, meta: dict[str, Any]) -> list[str]:
    found = _range_messages(len(value), meta, "length")
    if "enum" in meta and value not in meta["enum"]:
        found.append(f"{value!r} is not one of {', '.join(meta['enum'])}")
    if "pattern" in meta:
        pattern = _compiled(meta["pattern"])
        if pattern is None:
            found.append(f"pattern {meta['pattern']!r} cannot be checked in Python")
        elif not pattern.fullmatch(value):
            found.append(f"{value!r} does not match the pattern {meta['pattern']!r}")
    return found


def _range_messages(
    value: float, meta: dict[str, Any], what: str, check_min: bool = False
) -> list[str]:
    """Maximums; minimums only where ParamValidator does not check them (maps)."""
    found = []
    if check_min and "min" in meta and value < meta["min"]:
        found.append(f"{what} {value} is below the minimum {meta['min']}")
    if "max" in meta and value > meta["max"]:
        found.append(f"{what} {value} is above the maximum {meta['max']}")
    return found


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern in Python: ASCII classes as in Java, a full match as AWS."""
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
