"""``fitray quicksight apply`` end to end on a real boto3 client whose AWS is botocore's Stubber.

The Stubber answers only the calls queued, in the order queued, with the exact params
queued: an extra create, a missing grant or a wrong version number fails the test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import fitray.cli.quicksight as cli
from fitray.exceptions import TransientError
from fitray.quicksight import Applier, Plan, Waiting
from fitray.quicksight.apply import secret_forms
from fitray.quicksight.exceptions import (
    REDACTED,
    AccessDeniedError,
    AwsCredentialsError,
    QuickSightUnavailableError,
    RedshiftCredentialsError,
    ResourceFailedError,
)
from tests.quicksight.conftest import (
    ACCOUNT,
    IDS,
    NOUNS,
    PASSWORD,
    PRINCIPAL,
    REGION,
    QuickSightScript,
    created,
    described,
    grant,
    key,
)

ARGS = [
    "apply",
    "--account-id",
    ACCOUNT,
    "--region",
    REGION,
    "--principal-arn",
    PRINCIPAL,
    "--redshift-host",
    "fitray.abc123.eu-west-1.redshift.amazonaws.com",
    "--redshift-port",
    "5439",
    "--redshift-database",
    "analytics",
    "--redshift-cluster-id",
    "fitray",
]


@pytest.fixture
def clients_made(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The command gets the stubbed client; each request for a client is recorded."""
    made: list[tuple[Any, ...]] = []

    def make_client(*args: Any) -> Any:
        made.append(args)
        return client

    monkeypatch.setattr(cli, "make_client", make_client)
    return made


@pytest.fixture
def script(client: Any, clients_made: list[tuple[Any, ...]]) -> Iterator[QuickSightScript]:
    script = QuickSightScript(client)
    with script.stubber:
        yield script


def run(*extra: str) -> Result:
    return CliRunner().invoke(cli.app, [*ARGS, *extra])


def no_secret(text: str) -> None:
    for form in secret_forms(PASSWORD):
        assert form not in text


@pytest.mark.usefixtures("redshift_login")
def test_apply_twice_creates_then_only_updates(
    script: QuickSightScript,
    plan: Plan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    script.first_apply(plan)
    script.second_apply(plan, version=2)

    first, second = run(), run()

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    script.stubber.assert_no_pending_responses()
    for result, action, version in ((first, "created", 1), (second, "updated", 2)):
        for resource_id in IDS.values():
            assert f"{resource_id}: {action}" in result.stderr
        assert f"dashboard version {version} published" in result.stdout
    assert f"https://{REGION}.quicksight.aws.amazon.com/sn/dashboards/{IDS['Dashboard']}" in (
        first.stdout
    )
    no_secret(first.output + second.output + caplog.text + "".join(capsys.readouterr()))


@pytest.mark.usefixtures("redshift_login")
def test_a_concurrent_create_turns_into_an_update(script: QuickSightScript, plan: Plan) -> None:
    data_source = plan.resource("DataSource")
    script.fail("DescribeDataSource", key("DataSource"), "ResourceNotFoundException", 404)
    script.fail("CreateDataSource", data_source.create.params, "ResourceExistsException", 409)
    script.reply("UpdateDataSource", data_source.update.params, created("DataSource", 1))
    script.reply("UpdateDataSourcePermissions", grant("DataSource"), {})
    script.settled("DataSource", 1, "UPDATE_SUCCESSFUL")
    script.fail("DescribeDataSet", key("DataSet"), "AccessDeniedException", 403)

    result = run()

    assert isinstance(result.exception, AccessDeniedError)
    assert "DescribeDataSet" in str(result.exception)
    script.stubber.assert_no_pending_responses()


@pytest.mark.usefixtures("redshift_login")
def test_a_failed_data_source_ends_the_run_without_leaking_the_password(
    script: QuickSightScript, plan: Plan
) -> None:
    script.fail("DescribeDataSource", key("DataSource"), "ResourceNotFoundException", 404)
    script.reply(
        "CreateDataSource", plan.resource("DataSource").create.params, created("DataSource", 1)
    )
    failed = described("DataSource", "CREATION_FAILED")
    failed["DataSource"]["ErrorInfo"] = {
        "Type": "CONNECTION_FAILURE",
        "Message": f"login {PASSWORD}",
    }
    script.reply("DescribeDataSource", key("DataSource"), failed)

    result = run()

    assert isinstance(result.exception, ResourceFailedError)
    message = str(result.exception)
    assert "fitray-redshift ended CREATION_FAILED: CONNECTION_FAILURE" in message
    assert REDACTED in message
    no_secret(message + result.output)
    script.stubber.assert_no_pending_responses()


def fake_time() -> tuple[Waiting, list[float]]:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    return Waiting(timeout_s=5.0, interval_s=2.0, sleep=sleep, clock=lambda: now[0]), slept


def test_the_analysis_is_awaited_until_quicksight_built_it(client: Any, plan: Plan) -> None:
    script = QuickSightScript(client)
    for noun in NOUNS:
        script.fail(f"Describe{noun}", key(noun), "ResourceNotFoundException", 404)
        script.reply(f"Create{noun}", plan.resource(noun).create.params, created(noun, 1))
        if noun == "Analysis":
            script.settled(noun, 1, "CREATION_IN_PROGRESS")
            script.settled(noun, 1, "CREATION_IN_PROGRESS")
        script.settled(noun, 1, "CREATION_SUCCESSFUL")
    script.reply("UpdateDashboardPublishedVersion", {**key("Dashboard"), "VersionNumber": 1}, {})
    waiting, slept = fake_time()

    with script.stubber:
        result = Applier(client, plan, [PASSWORD], waiting).run()

    assert slept == [2.0, 2.0]
    assert [o.status for o in result.outcomes] == [
        "CREATION_SUCCESSFUL",
        "ready",
        "CREATION_SUCCESSFUL",
        "CREATION_SUCCESSFUL",
    ]
    script.stubber.assert_no_pending_responses()


def test_a_resource_that_never_settles_times_out(client: Any, plan: Plan) -> None:
    script = QuickSightScript(client)
    script.fail("DescribeDataSource", key("DataSource"), "ResourceNotFoundException", 404)
    script.reply(
        "CreateDataSource", plan.resource("DataSource").create.params, created("DataSource", 1)
    )
    for _ in range(4):  # at t = 0, 2, 4 and 6 s; the deadline is 5 s
        script.settled("DataSource", 1, "CREATION_IN_PROGRESS")
    waiting, slept = fake_time()

    with (
        script.stubber,
        pytest.raises(ResourceFailedError, match="still CREATION_IN_PROGRESS after 5s"),
    ):
        Applier(client, plan, [PASSWORD], waiting).run()

    assert slept == [2.0, 2.0, 2.0]
    script.stubber.assert_no_pending_responses()


def test_a_deleted_analysis_is_not_updated(client: Any, plan: Plan) -> None:
    script = QuickSightScript(client)
    for noun in ("DataSource", "DataSet"):
        script.reply(f"Describe{noun}", key(noun), described(noun))
        script.reply(f"Update{noun}", plan.resource(noun).update.params, created(noun, 1))
        script.reply(f"Update{noun}Permissions", grant(noun), {})
        script.settled(noun, 1, "UPDATE_SUCCESSFUL")
    script.reply("DescribeAnalysis", key("Analysis"), described("Analysis", "DELETED"))

    with script.stubber, pytest.raises(ResourceFailedError, match="deleted but still restorable"):
        Applier(client, plan, [PASSWORD]).run()
    script.stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("operation", "code", "error", "says"),
    [
        ("DescribeDataSource", "AccessDeniedException", AccessDeniedError, "quicksight:Describe"),
        ("DescribeDataSource", "UnrecognizedClientException", AwsCredentialsError, "credentials"),
        (
            "DescribeDataSource",
            "UnsupportedUserEditionException",
            QuickSightUnavailableError,
            "Enterprise",
        ),
        ("DescribeDataSource", "ThrottlingException", TransientError, "try again"),
        ("CreateDataSource", "ResourceNotFoundException", QuickSightUnavailableError, "signed up"),
    ],
)
def test_aws_errors_become_one_line_fitray_errors(
    client: Any, plan: Plan, operation: str, code: str, error: type[Exception], says: str
) -> None:
    script = QuickSightScript(client)
    if operation == "CreateDataSource":
        script.fail("DescribeDataSource", key("DataSource"), "ResourceNotFoundException", 404)
    params = (
        plan.resource("DataSource").create.params
        if operation.startswith("Create")
        else key("DataSource")
    )
    script.fail(operation, params, code)

    with script.stubber, pytest.raises(error, match=says) as raised:
        Applier(client, plan, [PASSWORD]).run()
    assert "\n" not in str(raised.value)
    assert operation in str(raised.value)


@pytest.mark.usefixtures("redshift_login")
def test_dry_run_prints_redacted_requests_and_calls_nothing(
    clients_made: list[tuple[Any, ...]],
) -> None:
    result = run("--dry-run")

    assert result.exit_code == 0, result.output
    assert clients_made == []
    assert REDACTED in result.stdout
    no_secret(result.output)


def test_apply_without_the_redshift_login_stops_before_aws(
    clients_made: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FITRAY_REDSHIFT_USER", raising=False)
    monkeypatch.delenv("FITRAY_REDSHIFT_PASSWORD", raising=False)
    cli.get_settings.cache_clear()
    try:
        result = run()
    finally:
        cli.get_settings.cache_clear()

    assert isinstance(result.exception, RedshiftCredentialsError)
    assert "FITRAY_REDSHIFT_PASSWORD" in str(result.exception)
    assert clients_made == []
