"""Identifiers in the definitions that must refer to each other, checked before AWS sees them.

The service model cannot say that a bar chart's column exists in the dataset, that a filter
control names a filter, or that a filter group scopes a sheet that exists; QuickSight only
says so after a deploy, as a failed analysis. :func:`check_references` says it offline:
dataset columns (and their types) behind every field, filter and sort; declared datasets;
unique ids; and (in :mod:`.sheets`) controls, scopes and layouts that point at real things.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fitray.quicksight.plan import Plan
from fitray.quicksight.shapes import Violation, service_model, walk
from fitray.quicksight.sheets import check_sheets

__all__ = ["check_definition", "check_references", "dataset_columns"]

_NUMERIC = frozenset({"INTEGER", "DECIMAL"})
_DATE = frozenset({"DATETIME"})
_FIELD_SHAPES = frozenset(
    {
        "NumericalMeasureField",
        "CategoricalMeasureField",
        "DateMeasureField",
        "CalculatedMeasureField",
        "NumericalDimensionField",
        "CategoricalDimensionField",
        "DateDimensionField",
    }
)
_COLUMN_TYPES = {
    "NumericalMeasureField": _NUMERIC,
    "NumericalDimensionField": _NUMERIC,
    "DateMeasureField": _DATE,
    "DateDimensionField": _DATE,
    "NumericRangeFilter": _NUMERIC,
    "NumericEqualityFilter": _NUMERIC,
    "TimeRangeFilter": _DATE,
    "TimeEqualityFilter": _DATE,
    "RelativeDatesFilter": _DATE,
}


def check_references(plan: Plan) -> list[Violation]:
    """Every cross-reference of the plan: ids, data source, dataset columns, both definitions."""
    target, found = plan.target, []
    for resource in plan.resources:
        params, where = resource.create.params, resource.create.operation
        if params.get("AwsAccountId") != target.account_id:
            found.append(Violation(where, "AwsAccountId differs from --account-id"))
        if params.get(f"{resource.noun}Id") != resource.resource_id:
            found.append(Violation(where, f"{resource.noun}Id is not {resource.resource_id!r}"))
    dataset = plan.resource("DataSet").create.params
    columns, problems = dataset_columns(dataset, target.arn("DataSource"))
    datasets = {target.arn("DataSet"): columns}
    found += problems
    for noun, shape in (
        ("Analysis", "AnalysisDefinition"),
        ("Dashboard", "DashboardVersionDefinition"),
    ):
        definition = plan.resource(noun).create.params.get("Definition", {})
        found += check_definition(definition, datasets, f"Create{noun} Definition", shape)
    return found


def dataset_columns(
    body: dict[str, Any], data_source_arn: str
) -> tuple[dict[str, str], list[Violation]]:
    """The dataset's columns (name -> QuickSight type) and what is wrong with its tables."""
    columns: dict[str, str] = {}
    found = []
    physical = body.get("PhysicalTableMap", {})
    for table_id, table in physical.items():
        where = f"CreateDataSet PhysicalTableMap[{table_id}]"
        kind, source = next(iter(table.items()))
        if source.get("DataSourceArn") != data_source_arn:
            found.append(Violation(where, f"DataSourceArn is not {data_source_arn}"))
        for column in source.get("Columns" if kind == "CustomSql" else "InputColumns", []):
            if column["Name"] in columns:
                found.append(Violation(where, f"column {column['Name']!r} declared twice"))
            columns[column["Name"]] = column["Type"]
    for table_id, table in body.get("LogicalTableMap", {}).items():
        where = f"CreateDataSet LogicalTableMap[{table_id}]"
        source_id = table.get("Source", {}).get("PhysicalTableId")
        if source_id is not None and source_id not in physical:
            found.append(Violation(where, f"PhysicalTableId {source_id!r} does not exist"))
        if table.get("DataTransforms"):
            found.append(Violation(where, "DataTransforms are not checked: compute in the SQL"))
    return columns, found


def check_definition(
    definition: dict[str, Any],
    datasets: dict[str, dict[str, str]],
    where: str,
    shape_name: str = "AnalysisDefinition",
) -> list[Violation]:
    """References inside one analysis/dashboard definition; ``datasets``: ARN -> columns."""
    found = _duplicates(definition, where, shape_name)
    found += _columns(definition, datasets, where, shape_name)
    found += _fields(definition, where)
    return found + check_sheets(definition, where)


def _duplicates(definition: dict[str, Any], where: str, shape_name: str) -> list[Violation]:
    sheets, groups = definition.get("Sheets", []), definition.get("FilterGroups", [])
    ids: dict[str, list[Any]] = {
        "SheetId": [s.get("SheetId") for s in sheets],
        "VisualId": [
            b.get("VisualId") for s in sheets for v in s.get("Visuals", []) for b in v.values()
        ],
        "FilterControlId": [
            b.get("FilterControlId")
            for s in sheets
            for c in s.get("FilterControls", [])
            for b in c.values()
        ],
        "FilterGroupId": [g.get("FilterGroupId") for g in groups],
        "FilterId": [
            b.get("FilterId") for g in groups for f in g.get("Filters", []) for b in f.values()
        ],
        "FieldId": [
            n.value
            for n in walk(service_model().shape_for(shape_name), definition)
            if n.member == "FieldId" and n.parent in _FIELD_SHAPES
        ],
    }
    return [
        Violation(where, f"{kind} {value!r} is used {count} times; ids must be unique")
        for kind, values in ids.items()
        for value, count in Counter(values).items()
        if count > 1
    ]


def _columns(
    definition: dict[str, Any], datasets: dict[str, dict[str, str]], where: str, shape_name: str
) -> list[Violation]:
    declared: dict[str, dict[str, str]] = {}
    found = []
    for i, declaration in enumerate(definition.get("DataSetIdentifierDeclarations", [])):
        name, arn = declaration.get("Identifier"), declaration.get("DataSetArn")
        if arn not in datasets:
            found.append(Violation(f"{where} declaration {i}", f"{arn} is not a planned dataset"))
        declared[name] = dict(datasets.get(arn, {}))
    for field in definition.get("CalculatedFields", []):
        declared.get(field.get("DataSetIdentifier"), {})[field.get("Name")] = "CALCULATED"
    for node in walk(service_model().shape_for(shape_name), definition):
        if node.shape.name == "ColumnIdentifier" and isinstance(node.value, dict):
            message = _column_problem(
                node.value, declared, node.parent if node.member == "Column" else None
            )
            if message:
                found.append(Violation(f"{where} {node.path}", message))
    return found


def _column_problem(
    column: dict[str, Any], declared: dict[str, dict[str, str]], user: str | None
) -> str | None:
    dataset, name = column.get("DataSetIdentifier"), column.get("ColumnName")
    if dataset not in declared:
        return f"DataSetIdentifier {dataset!r} is not declared in DataSetIdentifierDeclarations"
    if name not in declared[dataset]:
        return f"column {name!r} is not in dataset {dataset!r} ({', '.join(declared[dataset])})"
    kind, allowed = declared[dataset][name], _COLUMN_TYPES.get(user or "")
    if allowed and kind not in allowed and kind != "CALCULATED":
        return f"{user} needs a {'/'.join(sorted(allowed))} column; {name!r} is {kind}"
    return None


def _fields(definition: dict[str, Any], where: str) -> list[Violation]:
    found = []
    visual_shape = service_model().shape_for("Visual")
    for sheet in definition.get("Sheets", []):
        for visual in sheet.get("Visuals", []):
            nodes = [n for n in walk(visual_shape, visual) if n.member == "FieldId"]
            defined = {n.value for n in nodes if n.parent in _FIELD_SHAPES}
            found += [
                Violation(f"{where} {n.path}", f"FieldId {n.value!r} is no field of this visual")
                for n in nodes
                if n.parent not in _FIELD_SHAPES and n.value not in defined
            ]
    return found
