"""QuickSight cannot run here: a real boto3 client with botocore's Stubber plays AWS.

``QuickSightScript`` queues, in order, exactly the calls a run must make and the answers AWS
would give (answers are checked against the model's output shapes by the Stubber; requests
are serialised by the real client, so they pass its ParamValidator too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from pydantic import SecretStr

from fitray.config import get_settings
from fitray.quicksight import DEFAULT_DIRECTORY, Plan, RedshiftCredentials, Target, build_plan
from fitray.quicksight import load_definitions as load

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PRINCIPAL = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/analyst"
USER = "quicksight_reader"
# Quotes, a backslash, SQL and non-ASCII: every way a secret may be escaped in a log line.
PASSWORD = "pa\"ss\\w'ord; DROP TABLE x;--ü-7f3a9"
ARN = f"arn:aws:quicksight:{REGION}:{ACCOUNT}"
IDS = {
    "DataSource": "fitray-redshift",
    "DataSet": "fitray-exercises-enriched",
    "Analysis": "fitray-exercises-analysis",
    "Dashboard": "fitray-exercises-dashboard",
}
OWNER_ACTIONS = json.loads((DEFAULT_DIRECTORY / "permissions.json").read_text())


@pytest.fixture
def target() -> Target:
    return Target(
        account_id=ACCOUNT,
        region=REGION,
        principal_arn=PRINCIPAL,
        redshift_host="fitray.abc123.eu-west-1.redshift.amazonaws.com",
        redshift_port=5439,
        redshift_database="analytics",
        redshift_cluster_id="fitray",
    )


@pytest.fixture
def plan(target: Target) -> Plan:
    return build_plan(load(target), target, RedshiftCredentials(USER, SecretStr(PASSWORD)))


@pytest.fixture
def definitions_copy(tmp_path: Path) -> Path:
    """A private copy of deploy/quicksight that a test may break."""
    copy = tmp_path / "quicksight"
    copy.mkdir()
    for path in DEFAULT_DIRECTORY.glob("*.json"):
        (copy / path.name).write_text(path.read_text())
    return copy


@pytest.fixture
def redshift_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The Redshift login in the environment only (no .env), settings re-read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FITRAY_REDSHIFT_USER", USER)
    monkeypatch.setenv("FITRAY_REDSHIFT_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client() -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret", region_name=REGION
    )
    return session.client("quicksight")


class QuickSightScript:
    """The expected conversation with QuickSight, one call at a time, in order."""

    def __init__(self, client: Any) -> None:
        self.stubber = Stubber(client)

    def reply(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        self.stubber.add_response(_method(operation), {"Status": 200, **response}, params)

    def fail(self, operation: str, params: dict[str, Any], code: str, status: int = 400) -> None:
        self.stubber.add_client_error(
            _method(operation),
            service_error_code=code,
            service_message=f"{code} for the test",
            http_status_code=status,
            expected_params=params,
        )

    def first_apply(self, plan: Plan) -> None:
        """Nothing exists: describe -> not found, create, wait, and publish version 1."""
        for noun in NOUNS:
            self.fail(f"Describe{noun}", key(noun), "ResourceNotFoundException", 404)
            create = plan.resource(noun).create
            self.reply(create.operation, create.params, created(noun, 1))
            self.settled(noun, 1, "CREATION_SUCCESSFUL")
        self.reply("UpdateDashboardPublishedVersion", {**key("Dashboard"), "VersionNumber": 1}, {})

    def second_apply(self, plan: Plan, version: int) -> None:
        """Everything exists: describe, update, grant, wait, and publish the new version."""
        for noun in NOUNS:
            self.reply(f"Describe{noun}", key(noun), described(noun))
            update = plan.resource(noun).update
            self.reply(update.operation, update.params, created(noun, version))
            self.reply(f"Update{noun}Permissions", grant(noun), {})
            self.settled(noun, version, "UPDATE_SUCCESSFUL")
        self.reply(
            "UpdateDashboardPublishedVersion", {**key("Dashboard"), "VersionNumber": version}, {}
        )

    def settled(self, noun: str, version: int, status: str) -> None:
        """The describe the wait loop makes after a create/update (none for a dataset)."""
        if noun == "DataSet":
            return
        params = key(noun)
        if noun == "Dashboard":
            params["VersionNumber"] = version
            status = status.replace("UPDATE", "CREATION")  # each version is created, not updated
        self.reply(f"Describe{noun}", params, described(noun, status, version))


NOUNS = ("DataSource", "DataSet", "Analysis", "Dashboard")


def key(noun: str) -> dict[str, Any]:
    return {"AwsAccountId": ACCOUNT, f"{noun}Id": IDS[noun]}


def grant(noun: str) -> dict[str, Any]:
    return {
        **key(noun),
        "GrantPermissions": [{"Principal": PRINCIPAL, "Actions": OWNER_ACTIONS[noun]}],
    }


def created(noun: str, version: int) -> dict[str, Any]:
    """What Create*/Update* answer: ids, ARN, and for a dashboard the new version's ARN."""
    kind = {"DataSource": "datasource", "DataSet": "dataset"}.get(noun, noun.lower())
    arn = f"{ARN}:{kind}/x"
    answer: dict[str, Any] = {"Arn": arn, f"{noun}Id": "x"}
    if noun == "Dashboard":
        answer["VersionArn"] = f"{arn}/version/{version}"
    return answer


def described(noun: str, status: str = "CREATION_SUCCESSFUL", version: int = 1) -> dict[str, Any]:
    """What Describe* answers, with the status the wait loop reads."""
    if noun == "DataSet":
        return {"DataSet": {"DataSetId": "x"}}
    if noun == "Dashboard":
        return {
            "Dashboard": {
                "DashboardId": "x",
                "Version": {"VersionNumber": version, "Status": status},
            }
        }
    return {noun: {f"{noun}Id": "x", "Status": status}}


def _method(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))
