"""Every request against botocore's QuickSight model: ParamValidator, and what it leaves out.

ParamValidator checks types, required members and minimums. The model also states enums,
maximums, patterns and union structures; ``check_request`` checks those, and the mutations
below show each one caught where ParamValidator alone lets it through.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from botocore.validate import ParamValidator

from fitray.quicksight import Plan
from fitray.quicksight.plan import Request
from fitray.quicksight.shapes import check_request, check_value, operation_model, walk


def botocore_errors(request: Request) -> str:
    report = ParamValidator().validate(
        request.params, operation_model(request.operation).input_shape
    )
    return report.generate_report() if report.has_errors() else ""


def test_the_plan_has_every_request_apply_can_send(plan: Plan) -> None:
    operations = {r.operation for r in plan.requests()}
    for noun in ("DataSource", "DataSet", "Analysis", "Dashboard"):
        for verb in ("Describe", "Create", "Update"):
            assert f"{verb}{noun}" in operations
        assert f"Update{noun}Permissions" in operations
    assert "UpdateDashboardPublishedVersion" in operations


def test_every_request_passes_botocores_param_validator(plan: Plan) -> None:
    for request in plan.requests():
        assert botocore_errors(request) == "", request.operation


def test_every_request_meets_the_rest_of_the_model(plan: Plan) -> None:
    for request in plan.requests():
        assert check_request(request.operation, request.params) == [], request.operation


def test_the_dry_run_requests_are_valid_requests_too(plan: Plan) -> None:
    printed = plan.as_dict()
    requests = [printed["then"]]
    for resource in printed["resources"]:
        requests += [resource["first"], *resource["if_absent"], *resource["if_present"]]
    for item in requests:
        params = {k: v for k, v in item["params"].items()}
        assert check_request(item["operation"], params) == [], item["operation"]


def leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(leaves(v) for v in value)
    return 1


def test_the_walk_reaches_every_value(plan: Plan) -> None:
    """Nothing is skipped silently: each scalar of each request gets a shape to check."""
    for request in plan.requests():
        shape = operation_model(request.operation).input_shape
        nodes = list(walk(shape, request.params))
        keys = [n for n in nodes if n.path.endswith(">")]  # map keys: checked, not values
        scalars = [n for n in nodes if not isinstance(n.value, dict | list)]
        assert len(scalars) - len(keys) == leaves(request.params), request.operation


def sheet(params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = params["Definition"]["Sheets"][0]
    return result


def bar(params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = sheet(params)["Visuals"][3]["BarChartVisual"]
    return result


def bad_enum(p: dict[str, Any]) -> None:
    bar(p)["ChartConfiguration"]["Orientation"] = "SIDEWAYS"


def too_long(p: dict[str, Any]) -> None:
    p["Name"] = "x" * 2049


def bad_pattern(p: dict[str, Any]) -> None:
    bar(p)["VisualId"] = "bar kcal"


def above_max(p: dict[str, Any]) -> None:
    sheet(p)["Layouts"][0]["Configuration"]["GridLayout"]["Elements"][0]["ColumnSpan"] = 37


def list_too_long(p: dict[str, Any]) -> None:
    p["Permissions"][0]["Actions"] = [f"quicksight:Action{i}" for i in range(21)]


def two_union_members(p: dict[str, Any]) -> None:
    sheet(p)["Visuals"][0]["BarChartVisual"] = {"VisualId": "another-bar"}


MODEL_ONLY: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "enum": (bad_enum, "'SIDEWAYS' is not one of HORIZONTAL, VERTICAL"),
    "max length": (too_long, "length 2049 is above the maximum 2048"),
    "pattern": (bad_pattern, "'bar kcal' does not match the pattern"),
    "max value": (above_max, "value 37 is above the maximum 36"),
    "list length": (list_too_long, "length 21 is above the maximum 20"),
    "union": (two_union_members, "Visual is a union: set exactly one of its members, not 2"),
}


@pytest.mark.parametrize("case", sorted(MODEL_ONLY))
def test_what_param_validator_misses_is_caught(plan: Plan, case: str) -> None:
    mutate, message = MODEL_ONLY[case]
    params = copy.deepcopy(plan.resource("Analysis").create.params)
    mutate(params)
    request = Request("CreateAnalysis", params)

    assert botocore_errors(request) == ""  # ParamValidator alone would send it
    found = [str(v) for v in check_request(request.operation, request.params)]
    assert any(message in v for v in found), found


def test_an_empty_map_below_its_minimum_is_caught(plan: Plan) -> None:
    params = copy.deepcopy(plan.resource("DataSet").create.params)
    params["LogicalTableMap"] = {}
    found = [str(v) for v in check_request("CreateDataSet", params)]
    assert found == ["CreateDataSet LogicalTableMap: size 0 is below the minimum 1"]


def test_botocores_own_findings_are_reported_too(plan: Plan) -> None:
    params = copy.deepcopy(plan.resource("Analysis").create.params)
    del params["Definition"]["FilterGroups"][0]["Filters"][0]["CategoryFilter"]["Column"]
    found = [str(v) for v in check_request("CreateAnalysis", params)]
    assert any("Missing required parameter" in v and "Column" in v for v in found), found


def test_a_pattern_python_cannot_read_is_reported_not_skipped() -> None:
    assert check_value("OAuthClientId", "abc") == [
        "pattern '[^\\\\p{Cc}]+' cannot be checked in Python"
    ]


def test_patterns_are_full_matches_with_java_ascii_classes() -> None:
    assert check_value("ShortRestrictiveResourceId", "kpi-total_1") == []
    assert check_value("ShortRestrictiveResourceId", "kpi total") != []
    assert check_value("ShortRestrictiveResourceId", "kpi-é") != []  # \\w is ASCII in Java
