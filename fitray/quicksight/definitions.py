"""The QuickSight definitions in deploy/quicksight, rendered for one AWS account and warehouse.

The JSON files are request bodies an AWS user can read (and feed to ``aws quicksight ...
--cli-input-json`` once rendered). Two small conventions keep them free of repetition:

- ``${name}`` placeholders (:meth:`Target.placeholders`). A string that is exactly one
  placeholder takes the value's own type (the port stays a number) and, when the value is
  ``None``, its key is dropped (no ``ClusterId`` without ``--redshift-cluster-id``).
- ``{"$include": "definition.json"}`` stands for that file, so the analysis and the dashboard
  share one sheet definition.

Rendering walks the parsed JSON, never the text, so a value full of quotes cannot break it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from fitray.config import PROJECT_ROOT
from fitray.quicksight.exceptions import DefinitionError

__all__ = ["DEFAULT_DIRECTORY", "RESOURCE_FILES", "Definitions", "Target", "load_definitions"]

DEFAULT_DIRECTORY = PROJECT_ROOT / "deploy" / "quicksight"
RESOURCE_FILES = {
    "DataSource": "data-source.json",
    "DataSet": "dataset.json",
    "Analysis": "analysis.json",
    "Dashboard": "dashboard.json",
}
PERMISSIONS_FILE = "permissions.json"
_INCLUDE = "$include"
_DROP = object()


@dataclass(frozen=True)
class Target:
    """Where the definitions go: account, region, warehouse endpoint, owner, resource ids."""

    account_id: str
    region: str
    principal_arn: str
    redshift_host: str
    redshift_port: int
    redshift_database: str
    redshift_cluster_id: str | None = None
    id_prefix: str = "fitray"
    partition: str = "aws"

    @property
    def ids(self) -> dict[str, str]:
        """Resource id by QuickSight noun; one place names every resource."""
        return {
            "DataSource": f"{self.id_prefix}-redshift",
            "DataSet": f"{self.id_prefix}-exercises-enriched",
            "Analysis": f"{self.id_prefix}-exercises-analysis",
            "Dashboard": f"{self.id_prefix}-exercises-dashboard",
        }

    def arn(self, noun: str) -> str:
        """The ARN QuickSight gives the resource ``noun`` of this target."""
        kind = {"DataSource": "datasource", "DataSet": "dataset"}.get(noun, noun.lower())
        return (
            f"arn:{self.partition}:quicksight:{self.region}:{self.account_id}:"
            f"{kind}/{self.ids[noun]}"
        )

    def placeholders(self) -> dict[str, Any]:
        ids = self.ids
        return {
            "account_id": self.account_id,
            "region": self.region,
            "partition": self.partition,
            "redshift_host": self.redshift_host,
            "redshift_port": self.redshift_port,
            "redshift_database": self.redshift_database,
            "redshift_cluster_id": self.redshift_cluster_id,
            "data_source_id": ids["DataSource"],
            "data_source_arn": self.arn("DataSource"),
            "dataset_id": ids["DataSet"],
            "dataset_arn": self.arn("DataSet"),
            "analysis_id": ids["Analysis"],
            "dashboard_id": ids["Dashboard"],
        }


@dataclass(frozen=True)
class Definitions:
    """Rendered request bodies by QuickSight noun, and the owner actions by noun."""

    bodies: dict[str, dict[str, Any]]
    owner_actions: dict[str, list[str]]


def load_definitions(target: Target, directory: Path = DEFAULT_DIRECTORY) -> Definitions:
    """Read and render every definition file; a missing or broken file is a DefinitionError."""
    values = target.placeholders()
    bodies = {noun: _render_file(directory, name, values) for noun, name in RESOURCE_FILES.items()}
    actions = _read_json(directory / PERMISSIONS_FILE)
    if not isinstance(actions, dict) or set(actions) != set(RESOURCE_FILES):
        raise DefinitionError(
            f"{directory / PERMISSIONS_FILE}: expected one action list for each of "
            f"{', '.join(RESOURCE_FILES)}"
        )
    return Definitions(bodies, {noun: list(actions[noun]) for noun in RESOURCE_FILES})


def _render_file(
    directory: Path, name: str, values: dict[str, Any], seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    if "/" in name or "\\" in name or name in seen:
        raise DefinitionError(f"{directory / name}: includes must name a sibling file, once")
    data = _read_json(directory / name)
    if not isinstance(data, dict):
        raise DefinitionError(f"{directory / name}: expected a JSON object")

    def render(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            if set(node) == {_INCLUDE}:
                return _render_file(directory, str(node[_INCLUDE]), values, (*seen, name))
            rendered = {key: render(value, f"{where}.{key}") for key, value in node.items()}
            return {key: value for key, value in rendered.items() if value is not _DROP}
        if isinstance(node, list):
            items = [render(item, f"{where}[{i}]") for i, item in enumerate(node)]
            if any(item is _DROP for item in items):
                raise DefinitionError(f"{name}{where}: an unset placeholder inside a list")
            return items
        if isinstance(node, str):
            return _substitute(node, values, f"{name}{where}")
        return node

    result: dict[str, Any] = render(data, "")
    return result


def _substitute(text: str, values: dict[str, Any], where: str) -> Any:
    template = Template(text)
    names = template.get_identifiers()
    unknown = [n for n in names if n not in values]
    if unknown or not template.is_valid():
        raise DefinitionError(f"{where}: unknown placeholder in {text!r}; known: {sorted(values)}")
    if len(names) == 1 and text == "${" + names[0] + "}":
        value = values[names[0]]
        return _DROP if value is None else value
    missing = [n for n in names if values[n] is None]
    if missing:
        raise DefinitionError(f"{where}: {missing[0]} is unset but {text!r} needs it")
    return template.substitute(values)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError(f"{path}: not found (pass --definitions DIR)") from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
