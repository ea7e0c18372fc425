"""The sheet says what the original said, and every identifier in it points at something real.

Each broken variant below is a mistake the service model cannot see (the request is still
well-formed); the reference checks must reject it before QuickSight does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fitray.quicksight import Plan, check_plan
from fitray.quicksight.references import check_references
from fitray.quicksight.shapes import check_request

FILTERS = {
    "body_part": "Body Part",
    "equipment": "Equipment",
    "exercise_type": "Exercise Type",
    "level": "Exercise Level",
}
KPIS = {
    "Total Exercises": ("event_id", "DISTINCT_COUNT"),
    "Avg. Calories Burned per Hour per kg": ("kcal_per_hour_per_kg", "AVERAGE"),
    "Avg. Exercise Rating": ("rating", "AVERAGE"),
}
# category column, measured column, orientation, sorted by the value (descending)?
BARS = [
    ("exercise_type", "kcal_per_hour_per_kg", "VERTICAL", True),
    ("body_part", "kcal_per_hour_per_kg", "HORIZONTAL", True),
    ("equipment", "kcal_per_hour_per_kg", "VERTICAL", True),
    ("level", "rating", "VERTICAL", False),
    ("body_part", "rating", "HORIZONTAL", True),
]


def definition(plan: Plan, noun: str = "Analysis") -> dict[str, Any]:
    result: dict[str, Any] = plan.resource(noun).create.params["Definition"]
    return result


def test_the_shipped_plan_has_no_problem_at_all(plan: Plan) -> None:
    assert check_plan(plan) == []


def test_one_sheet_with_the_four_filters_of_the_original(plan: Plan) -> None:
    (sheet,) = definition(plan)["Sheets"]
    groups = definition(plan)["FilterGroups"]
    filters = {
        f["CategoryFilter"]["FilterId"]: (f["CategoryFilter"], g)
        for g in groups
        for f in g["Filters"]
    }
    assert sheet["Name"] == "Exercises Analysis"
    shown = {}
    for control in sheet["FilterControls"]:
        dropdown = control["Dropdown"]
        category, group = filters[dropdown["SourceFilterId"]]
        shown[category["Column"]["ColumnName"]] = dropdown["Title"]
        assert dropdown["Type"] == "MULTI_SELECT"
        assert dropdown["DisplayOptions"]["SelectAllOptions"]["Visibility"] == "VISIBLE"
        listing = category["Configuration"]["FilterListConfiguration"]
        assert listing["SelectAllOptions"] == "FILTER_ALL_VALUES"  # "All" until a pick
        assert "CategoryValues" not in listing
        scope = group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"]
        assert scope == [{"SheetId": sheet["SheetId"], "Scope": "ALL_VISUALS"}]  # every panel
    assert shown == FILTERS


def measure(field: dict[str, Any]) -> tuple[str, str]:
    ((kind, body),) = field.items()
    aggregation = body["AggregationFunction"]
    if kind == "NumericalMeasureField":
        aggregation = aggregation["SimpleNumericalAggregation"]
    return body["Column"]["ColumnName"], aggregation


def test_the_three_kpis_of_the_original(plan: Plan) -> None:
    (sheet,) = definition(plan)["Sheets"]
    kpis = [v["KPIVisual"] for v in sheet["Visuals"] if "KPIVisual" in v]
    found = {
        k["Title"]["FormatText"]["PlainText"]: measure(
            k["ChartConfiguration"]["FieldWells"]["Values"][0]
        )
        for k in kpis
    }
    assert found == KPIS


def test_the_five_bar_charts_of_the_original(plan: Plan) -> None:
    (sheet,) = definition(plan)["Sheets"]
    found = []
    for visual in (v["BarChartVisual"] for v in sheet["Visuals"] if "BarChartVisual" in v):
        chart = visual["ChartConfiguration"]
        wells = chart["FieldWells"]["BarChartAggregatedFieldWells"]
        (category,) = wells["Category"]
        (value,) = wells["Values"]
        column, aggregation = measure(value)
        assert aggregation == "AVERAGE"
        (sort,) = chart["SortConfiguration"]["CategorySort"]
        by_value = sort.get("FieldSort") == {
            "FieldId": value["NumericalMeasureField"]["FieldId"],
            "Direction": "DESC",
        }
        found.append(
            (
                category["CategoricalDimensionField"]["Column"]["ColumnName"],
                column,
                chart["Orientation"],
                by_value,
            )
        )
    assert found == BARS


def test_difficulty_levels_are_in_their_natural_order(plan: Plan) -> None:
    (sheet,) = definition(plan)["Sheets"]
    chart = sheet["Visuals"][6]["BarChartVisual"]["ChartConfiguration"]
    (sort,) = chart["SortConfiguration"]["CategorySort"]
    assert sort["ColumnSort"]["SortBy"]["ColumnName"] == "level_rank"
    assert sort["ColumnSort"]["Direction"] == "ASC"


def grid(d: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = d["Sheets"][0]["Layouts"][0]["Configuration"]["GridLayout"][
        "Elements"
    ]
    return result


def visual(d: dict[str, Any], index: int) -> dict[str, Any]:
    (body,) = d["Sheets"][0]["Visuals"][index].values()
    result: dict[str, Any] = body
    return result


def bar_wells(d: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = visual(d, 3)["ChartConfiguration"]["FieldWells"][
        "BarChartAggregatedFieldWells"
    ]
    return result


def category_filter(d: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = d["FilterGroups"][index]["Filters"][0]["CategoryFilter"]
    return result


def scope(d: dict[str, Any]) -> dict[str, Any]:
    config = d["FilterGroups"][0]["ScopeConfiguration"]["SelectedSheets"]
    result: dict[str, Any] = config["SheetVisualScopingConfigurations"][0]
    return result


BROKEN_DEFINITIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "dangling control": (
        lambda d: d["Sheets"][0]["FilterControls"][0]["Dropdown"].update(
            SourceFilterId="filter-gone"
        ),
        "SourceFilterId 'filter-gone' names no filter",
    ),
    "filter on a missing column": (
        lambda d: category_filter(d)["Column"].update(ColumnName="bodypart"),
        "column 'bodypart' is not in dataset 'exercises_enriched'",
    ),
    "field on a missing column": (
        lambda d: bar_wells(d)["Category"][0]["CategoricalDimensionField"]["Column"].update(
            ColumnName="type"
        ),
        "column 'type' is not in dataset",
    ),
    "undeclared dataset": (
        lambda d: category_filter(d)["Column"].update(DataSetIdentifier="exercises"),
        "DataSetIdentifier 'exercises' is not declared",
    ),
    "scope on a missing sheet": (
        lambda d: scope(d).update(SheetId="sheet-gone"),
        "scopes sheet 'sheet-gone', not defined",
    ),
    "scope on a missing visual": (
        lambda d: scope(d).update(
            Scope="SELECTED_VISUALS", VisualIds=["kpi-total-exercises", "ghost"]
        ),
        "scopes visual 'ghost'",
    ),
    "duplicate visual id": (
        lambda d: visual(d, 4).update(VisualId="bar-kcal-by-exercise-type"),
        "VisualId 'bar-kcal-by-exercise-type' is used 2 times",
    ),
    "duplicate filter id": (
        lambda d: category_filter(d, 1).update(FilterId="filter-body-part"),
        "FilterId 'filter-body-part' is used 2 times",
    ),
    "duplicate field id": (
        lambda d: bar_wells(d)["Values"][0]["NumericalMeasureField"].update(
            FieldId="kpi-avg-rating.rating.avg"
        ),
        "FieldId 'kpi-avg-rating.rating.avg' is used 2 times",
    ),
    "sort by a missing field": (
        lambda d: visual(d, 3)["ChartConfiguration"]["SortConfiguration"]["CategorySort"][0][
            "FieldSort"
        ].update(FieldId="nowhere"),
        "FieldId 'nowhere' is no field of this visual",
    ),
    "number from a text column": (
        lambda d: bar_wells(d)["Values"][0]["NumericalMeasureField"]["Column"].update(
            ColumnName="title"
        ),
        "NumericalMeasureField needs a DECIMAL/INTEGER column; 'title' is STRING",
    ),
    "visual off the layout": (
        lambda d: grid(d).pop(),
        "VISUAL 'bar-rating-by-body-part' is placed 0 times",
    ),
    "control off the layout": (
        lambda d: d["Sheets"][0]["SheetControlLayouts"][0]["Configuration"]["GridLayout"][
            "Elements"
        ].pop(),
        "FILTER_CONTROL 'control-level' is placed 0 times",
    ),
    "layout names a missing visual": (
        lambda d: grid(d)[0].update(ElementId="ghost"),
        "VISUAL 'ghost' is not on this sheet",
    ),
    "wider than the grid": (
        lambda d: grid(d)[2].update(ColumnSpan=13),
        "'kpi-avg-rating' ends at column 37 > 36",
    ),
    "control of the wrong kind": (
        lambda d: d["Sheets"][0]["FilterControls"].__setitem__(
            0,
            {
                "Slider": {
                    "FilterControlId": "control-body-part",
                    "Title": "Body Part",
                    "SourceFilterId": "filter-body-part",
                    "MaximumValue": 1.0,
                    "MinimumValue": 0.0,
                    "StepSize": 1.0,
                }
            },
        ),
        "a Slider needs a NumericEqualityFilter/NumericRangeFilter, not CategoryFilter",
    ),
    "filter off its control's sheet": (
        lambda d: d["FilterGroups"][0]["ScopeConfiguration"]["SelectedSheets"].update(
            SheetVisualScopingConfigurations=[]
        ),
        "filter 'filter-body-part' does not apply to its sheet",
    ),
    "a dataset the plan does not create": (
        lambda d: d["DataSetIdentifierDeclarations"][0].update(
            DataSetArn=d["DataSetIdentifierDeclarations"][0]["DataSetArn"] + "-old"
        ),
        "fitray-exercises-enriched-old is not a planned dataset",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_DEFINITIONS))
def test_broken_definitions_are_rejected(plan: Plan, case: str) -> None:
    mutate, message = BROKEN_DEFINITIONS[case]
    params = plan.resource("Analysis").create.params
    mutate(params["Definition"])

    if case != "filter off its control's sheet":  # an empty scope list is below its minimum
        assert check_request("CreateAnalysis", params) == []  # invisible to the model
    found = [str(v) for v in check_references(plan)]
    assert any(message in v and v.startswith("CreateAnalysis") for v in found), found
    assert not any(v.startswith("CreateDashboard") for v in found)  # the other copy is intact


BROKEN_DATASETS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "another data source": (
        lambda d: d["PhysicalTableMap"]["exercises-sql"]["CustomSql"].update(
            DataSourceArn="arn:aws:x"
        ),
        "DataSourceArn is not arn:aws:quicksight:eu-west-1:111122223333:datasource/fitray-redshift",
    ),
    "logical table on a missing physical one": (
        lambda d: d["LogicalTableMap"]["exercises"]["Source"].update(PhysicalTableId="gone"),
        "PhysicalTableId 'gone' does not exist",
    ),
    "a column declared twice": (
        lambda d: d["PhysicalTableMap"]["exercises-sql"]["CustomSql"]["Columns"].append(
            {"Name": "rating", "Type": "DECIMAL"}
        ),
        "column 'rating' declared twice",
    ),
    "a column the sheet uses is gone": (
        lambda d: d["PhysicalTableMap"]["exercises-sql"]["CustomSql"].update(
            Columns=[
                c
                for c in d["PhysicalTableMap"]["exercises-sql"]["CustomSql"]["Columns"]
                if c["Name"] != "level_rank"
            ]
        ),
        "column 'level_rank' is not in dataset",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_DATASETS))
def test_broken_datasets_are_rejected(plan: Plan, case: str) -> None:
    mutate, message = BROKEN_DATASETS[case]
    mutate(plan.resource("DataSet").create.params)
    found = [str(v) for v in check_references(plan)]
    assert any(message in v for v in found), found


def test_ids_that_differ_from_the_target_are_rejected(plan: Plan) -> None:
    plan.resource("Dashboard").create.params["DashboardId"] = "someone-elses-dashboard"
    found = [str(v) for v in check_references(plan)]
    assert "CreateDashboard: DashboardId is not 'fitray-exercises-dashboard'" in found
