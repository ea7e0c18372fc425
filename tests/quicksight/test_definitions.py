"""Rendering deploy/quicksight: typed placeholders, optional keys, includes, clear errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from fitray.quicksight import Target, load_definitions
from fitray.quicksight.exceptions import DefinitionError
from tests.quicksight.conftest import ACCOUNT, IDS, REGION


def test_placeholders_keep_their_type_and_unset_ones_drop_their_key(target: Target) -> None:
    with_cluster = load_definitions(target).bodies["DataSource"]
    without = load_definitions(dataclasses.replace(target, redshift_cluster_id=None))

    parameters = with_cluster["DataSourceParameters"]["RedshiftParameters"]
    assert parameters == {
        "Host": "fitray.abc123.eu-west-1.redshift.amazonaws.com",
        "Port": 5439,
        "Database": "analytics",
        "ClusterId": "fitray",
    }
    assert (
        "ClusterId"
        not in without.bodies["DataSource"]["DataSourceParameters"]["RedshiftParameters"]
    )
    assert with_cluster["AwsAccountId"] == ACCOUNT
    assert with_cluster["DataSourceId"] == IDS["DataSource"]


def test_arns_tie_the_resources_together(target: Target) -> None:
    bodies = load_definitions(target).bodies
    (table,) = bodies["DataSet"]["PhysicalTableMap"].values()
    declarations = bodies["Analysis"]["Definition"]["DataSetIdentifierDeclarations"]

    assert table["CustomSql"]["DataSourceArn"] == (
        f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/fitray-redshift"
    )
    dataset_arn = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dataset/fitray-exercises-enriched"
    assert declarations == [{"Identifier": "exercises_enriched", "DataSetArn": dataset_arn}]


def test_analysis_and_dashboard_share_one_definition(target: Target) -> None:
    bodies = load_definitions(target).bodies
    assert bodies["Analysis"]["Definition"] == bodies["Dashboard"]["Definition"]
    assert bodies["Analysis"]["Definition"] is not bodies["Dashboard"]["Definition"]


def test_id_prefix_and_partition_reach_every_id_and_arn(target: Target) -> None:
    china = dataclasses.replace(
        target, id_prefix="staging", partition="aws-cn", region="cn-north-1"
    )
    bodies = load_definitions(china).bodies

    assert bodies["Dashboard"]["DashboardId"] == "staging-exercises-dashboard"
    arn = bodies["Dashboard"]["Definition"]["DataSetIdentifierDeclarations"][0]["DataSetArn"]
    assert arn == f"arn:aws-cn:quicksight:cn-north-1:{ACCOUNT}:dataset/staging-exercises-enriched"


def test_a_value_full_of_quotes_stays_one_json_string(target: Target) -> None:
    host = 'evil", "Type": "S3'
    body = load_definitions(dataclasses.replace(target, redshift_host=host)).bodies["DataSource"]
    assert body["Type"] == "REDSHIFT"
    assert body["DataSourceParameters"]["RedshiftParameters"]["Host"] == host


def edit(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("data-source.json", '{"Name": "${nope}"}', "unknown placeholder"),
        ("data-source.json", '{"Name": "x", ', "invalid JSON at line 1"),
        ("data-source.json", '["not", "an", "object"]', "expected a JSON object"),
        ("analysis.json", '{"Definition": {"$include": "../secrets.json"}}', "sibling file"),
        ("analysis.json", '{"Definition": {"$include": "analysis.json"}}', "sibling file"),
        ("dataset.json", '{"Name": "${redshift_cluster_id}-x"}', "redshift_cluster_id is unset"),
        ("dataset.json", '{"Tags": ["${redshift_cluster_id}"]}', "inside a list"),
        ("permissions.json", '{"DataSource": []}', "one action list for each"),
    ],
)
def test_broken_files_are_one_line_definition_errors(
    definitions_copy: Path, target: Target, name: str, text: str, says: str
) -> None:
    edit(definitions_copy, name, text)
    unset = dataclasses.replace(target, redshift_cluster_id=None)
    with pytest.raises(DefinitionError, match=says) as raised:
        load_definitions(unset, definitions_copy)
    assert "\n" not in str(raised.value)


def test_a_missing_file_names_itself(definitions_copy: Path, target: Target) -> None:
    (definitions_copy / "dashboard.json").unlink()
    with pytest.raises(DefinitionError, match=r"dashboard\.json: not found"):
        load_definitions(target, definitions_copy)


def test_the_shipped_files_are_plain_json_objects() -> None:
    from fitray.quicksight import DEFAULT_DIRECTORY

    names = sorted(p.name for p in DEFAULT_DIRECTORY.glob("*.json"))
    assert names == [
        "analysis.json",
        "dashboard.json",
        "data-source.json",
        "dataset.json",
        "definition.json",
        "permissions.json",
    ]
    for name in names:
        assert isinstance(json.loads((DEFAULT_DIRECTORY / name).read_text()), dict)
