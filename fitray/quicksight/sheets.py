"""Sheet-level references: filter controls, filter-group scopes and layout elements.

A control must name a filter of a kind it can drive, whose group applies to the control's
sheet; a scope must name sheets and visuals that exist; every visual and control must sit on
the layout exactly once, within the 36-column grid.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fitray.quicksight.shapes import Violation

__all__ = ["GRID_COLUMNS", "check_sheets"]

GRID_COLUMNS = 36  # QuickSight's grid layout is 36 columns wide
_CONTROL_FILTERS = {
    "Dropdown": {"CategoryFilter"},
    "List": {"CategoryFilter"},
    "TextField": {"CategoryFilter"},
    "TextArea": {"CategoryFilter"},
    "Slider": {"NumericRangeFilter", "NumericEqualityFilter"},
    "DateTimePicker": {"TimeRangeFilter", "TimeEqualityFilter"},
    "RelativeDateTime": {"RelativeDatesFilter"},
}
_ELEMENT_IDS = {"VISUAL": "visuals", "FILTER_CONTROL": "controls"}


def check_sheets(definition: dict[str, Any], where: str) -> list[Violation]:
    """Controls, scopes and layouts of every sheet of one definition."""
    sheets = {s.get("SheetId"): _sheet_index(s) for s in definition.get("Sheets", [])}
    groups = definition.get("FilterGroups", [])
    filters = {
        body.get("FilterId"): (kind, group)
        for group in groups
        for item in group.get("Filters", [])
        for kind, body in item.items()
    }
    found = _controls(definition, filters, where)
    found += _scopes(groups, sheets, where)
    return found + _layouts(definition, sheets, where)


def _sheet_index(sheet: dict[str, Any]) -> dict[str, set[str]]:
    return {
        "visuals": {body.get("VisualId") for v in sheet.get("Visuals", []) for body in v.values()},
        "controls": {
            body.get("FilterControlId")
            for control in sheet.get("FilterControls", [])
            for body in control.values()
        },
    }


def _controls(
    definition: dict[str, Any], filters: dict[Any, tuple[str, dict[str, Any]]], where: str
) -> list[Violation]:
    found = []
    for sheet in definition.get("Sheets", []):
        for control in sheet.get("FilterControls", []):
            for kind, body in control.items():
                label = f"{where} filter control {body.get('FilterControlId')!r}"
                source = body.get("SourceFilterId")
                if source not in filters:
                    found.append(Violation(label, f"SourceFilterId {source!r} names no filter"))
                    continue
                filter_kind, group = filters[source]
                allowed = _CONTROL_FILTERS.get(kind)
                if allowed and filter_kind not in allowed:
                    needed = "/".join(sorted(allowed))
                    found.append(Violation(label, f"a {kind} needs a {needed}, not {filter_kind}"))
                if not _scopes_sheet(group, sheet.get("SheetId")):
                    found.append(Violation(label, f"filter {source!r} does not apply to its sheet"))
    return found


def _scopes_sheet(group: dict[str, Any], sheet_id: Any) -> bool:
    scope = group.get("ScopeConfiguration", {})
    selected = scope.get("SelectedSheets", {}).get("SheetVisualScopingConfigurations", [])
    return "AllSheets" in scope or any(s.get("SheetId") == sheet_id for s in selected)


def _scopes(
    groups: list[dict[str, Any]], sheets: dict[Any, dict[str, set[str]]], where: str
) -> list[Violation]:
    found = []
    for group in groups:
        label = f"{where} FilterGroup {group.get('FilterGroupId')!r}"
        selected = group.get("ScopeConfiguration", {}).get("SelectedSheets", {})
        for scope in selected.get("SheetVisualScopingConfigurations", []):
            sheet = sheets.get(scope.get("SheetId"))
            if sheet is None:
                found.append(
                    Violation(label, f"scopes sheet {scope.get('SheetId')!r}, not defined")
                )
                continue
            visual_ids = scope.get("VisualIds", [])
            if scope.get("Scope") == "SELECTED_VISUALS" and not visual_ids:
                found.append(Violation(label, "SELECTED_VISUALS without VisualIds"))
            found += [
                Violation(label, f"scopes visual {v!r}, not on sheet {scope.get('SheetId')!r}")
                for v in visual_ids
                if v not in sheet["visuals"]
            ]
    return found


def _layouts(
    definition: dict[str, Any], sheets: dict[Any, dict[str, set[str]]], where: str
) -> list[Violation]:
    found = []
    for sheet in definition.get("Sheets", []):
        sheet_id = sheet.get("SheetId")
        label = f"{where} sheet {sheet_id!r} layout"
        placed: Counter[tuple[str, str]] = Counter()
        for element, in_grid in _elements(sheet):
            kind, element_id = element.get("ElementType", ""), element.get("ElementId", "")
            placed[(kind, element_id)] += 1
            known = sheets[sheet_id].get(_ELEMENT_IDS.get(kind, ""), None)
            if known is not None and element_id not in known:
                found.append(Violation(label, f"{kind} {element_id!r} is not on this sheet"))
            end = element.get("ColumnIndex", 0) + element.get("ColumnSpan", 0)
            if in_grid and end > GRID_COLUMNS:
                found.append(Violation(label, f"{element_id!r} ends at column {end} > 36"))
        for kind, key in _ELEMENT_IDS.items():
            for element_id in sorted(sheets[sheet_id][key]):
                if placed[(kind, element_id)] != 1:
                    count = placed[(kind, element_id)]
                    found.append(Violation(label, f"{kind} {element_id!r} is placed {count} times"))
    return found


def _elements(sheet: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """Layout elements of a sheet, each with whether it sits on the 36-column main grid."""
    found = []
    for layout in sheet.get("Layouts", []):
        configuration = layout.get("Configuration", {})
        for name, body in configuration.items():
            found += [(e, name == "GridLayout") for e in body.get("Elements", [])]
    for layout in sheet.get("SheetControlLayouts", []):
        grid = layout.get("Configuration", {}).get("GridLayout", {})
        found += [(e, False) for e in grid.get("Elements", [])]
    return found
