"""``fitray quicksight``: --help, ``validate``, and the one-line errors before any AWS call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fitray.cli.quicksight import app
from fitray.quicksight import check_region, make_client
from fitray.quicksight.exceptions import (
    AwsCredentialsError,
    DefinitionError,
    InvalidOptionError,
    QuickSightUnavailableError,
)
from tests.quicksight.conftest import ACCOUNT, PRINCIPAL, REGION

OPTIONS = {
    "--account-id": ACCOUNT,
    "--region": REGION,
    "--principal-arn": PRINCIPAL,
    "--redshift-host": "redshift.example.com",
}


def apply_args(**changed: str) -> list[str]:
    options = OPTIONS | {f"--{k.replace('_', '-')}": v for k, v in changed.items()}
    return ["apply", *(item for pair in options.items() for item in pair)]


APPLY = apply_args()


@pytest.mark.parametrize("args", [["--help"], ["apply", "--help"], ["validate", "--help"]])
def test_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_validate_accepts_the_shipped_definitions() -> None:
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "18 requests valid; every reference resolves" in result.output


def break_definition(directory: Path) -> None:
    """A bad enum and a control whose filter does not exist, as a user's edit might do."""
    path = directory / "definition.json"
    definition = json.loads(path.read_text())
    sheet = definition["Sheets"][0]
    sheet["Visuals"][3]["BarChartVisual"]["ChartConfiguration"]["Orientation"] = "DIAGONAL"
    sheet["FilterControls"][1]["Dropdown"]["SourceFilterId"] = "filter-gone"
    path.write_text(json.dumps(definition))


def test_validate_lists_every_problem_of_broken_definitions(definitions_copy: Path) -> None:
    break_definition(definitions_copy)
    result = CliRunner().invoke(app, ["validate", "--definitions", str(definitions_copy)])

    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    for operation in ("CreateAnalysis", "UpdateAnalysis", "CreateDashboard", "UpdateDashboard"):
        assert any(operation in line and "'DIAGONAL' is not one of" in line for line in lines)
    for operation in ("CreateAnalysis", "CreateDashboard"):
        assert any(operation in line and "'filter-gone' names no filter" in line for line in lines)


@pytest.mark.usefixtures("redshift_login")
def test_apply_refuses_broken_definitions_before_any_call(definitions_copy: Path) -> None:
    break_definition(definitions_copy)
    result = CliRunner().invoke(app, [*APPLY, "--dry-run", "--definitions", str(definitions_copy)])

    assert isinstance(result.exception, DefinitionError)
    assert "problem(s) before anything was sent" in str(result.exception)
    assert len(result.exception.problems) == 6


@pytest.mark.usefixtures("redshift_login")
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("account_id", "12345", "--account-id: length 5 is below the minimum 12"),
        ("principal_arn", "arn:aws:iam::111122223333:role/x", "not a QuickSight user or group"),
        ("id_prefix", "my prefix", "--id-prefix: 'my prefix-exercises-analysis' does not match"),
    ],
)
def test_bad_options_are_named(option: str, value: str, says: str) -> None:
    result = CliRunner().invoke(app, [*apply_args(**{option: value}), "--dry-run"])
    assert isinstance(result.exception, InvalidOptionError)
    assert says in str(result.exception)


def test_a_region_without_quicksight_is_one_red_line_and_exit_1() -> None:
    env = {**os.environ, "COLUMNS": "2000", "FITRAY_REDSHIFT_USER": "", "NO_COLOR": "1"}
    args = apply_args(region="mars-1")
    done = subprocess.run(
        [sys.executable, "-m", "fitray", "quicksight", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: QuickSight is not offered in region 'mars-1'")
    assert done.stderr.count("\n") == 1  # one line, no traceback


def test_partitions_come_from_the_region() -> None:
    assert check_region("us-east-1") == "aws"
    assert check_region("cn-north-1") == "aws-cn"
    with pytest.raises(QuickSightUnavailableError, match="us-east-1"):
        check_region("mars-1")


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_credentials")
def test_missing_aws_credentials_are_named_before_any_call() -> None:
    with pytest.raises(AwsCredentialsError, match="no AWS credentials found"):
        make_client(REGION)


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_missing_profile_is_named() -> None:
    with pytest.raises(AwsCredentialsError, match="nowhere"):
        make_client(REGION, profile="nowhere")
