"""Apply a validated :class:`Plan` with a boto3 QuickSight client: create or update, then publish.

Each resource is described first: absent, it is created with its owner permissions; present,
it is updated and the permissions granted again (granting twice is harmless), so a second run
updates and never duplicates. Data sources, analyses and dashboard versions are built
asynchronously by QuickSight: each is awaited (with a deadline) until it succeeded or failed,
then the new dashboard version is published. The Redshift password is scrubbed from every
error and from botocore's own debug logs while the plan runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from fitray.quicksight.exceptions import ResourceFailedError, map_aws_error, scrub
from fitray.quicksight.plan import Plan, Request, ResourcePlan

__all__ = ["Applier", "ApplyResult", "Outcome", "Waiting", "scrubbed_logs", "secret_forms"]

_LOGGER_ROOTS = ("botocore", "boto3", "urllib3", "s3transfer")


@dataclass(frozen=True)
class Waiting:
    """How long to wait for QuickSight to finish building a resource, and how to wait."""

    timeout_s: float = 600.0
    interval_s: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Outcome:
    label: str
    resource_id: str
    action: str  # "created" | "updated"
    status: str


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    dashboard_version: int = 0
    dashboard_url: str | None = None


class Applier:
    """Runs one plan against one client; ``report`` hears one line per step."""

    def __init__(
        self,
        client: Any,
        plan: Plan,
        secrets: list[str],
        waiting: Waiting | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self._client, self._plan = client, plan
        self._secrets = [form for secret in secrets for form in secret_forms(secret)]
        self._waiting = waiting or Waiting()
        self._report = report or (lambda _line: None)

    def run(self) -> ApplyResult:
        result, version = ApplyResult(), 0
        with scrubbed_logs(self._secrets):
            for resource in self._plan.resources:
                outcome, made = self._apply(resource)
                version = made or version  # only the dashboard makes a version
                result.outcomes.append(outcome)
                self._report(f"{outcome.label} {outcome.resource_id}: {outcome.action}")
            self._call(self._plan.publish(version))
        result.dashboard_version = version
        result.dashboard_url = _dashboard_url(self._plan)
        self._report(f"dashboard version {version} published")
        return result

    def _apply(self, resource: ResourcePlan) -> tuple[Outcome, int]:
        current = self._call_unless(resource.describe, "ResourceNotFoundException")
        created = None
        if current is None:  # absent; a concurrent create makes it present after all
            created = self._call_unless(resource.create, "ResourceExistsException")
        action = "created" if created is not None else "updated"
        response = created
        if response is None:
            self._refuse_deleted(resource, current or {})
            response = self._call(resource.update)
            self._call(resource.grant)
        version = _version(response) if resource.noun == "Dashboard" else 0
        status = self._settle(resource, version)
        return Outcome(resource.label, resource.resource_id, action, status), version

    def _settle(self, resource: ResourcePlan, version: int) -> str:
        """Wait until QuickSight built the resource; datasets are ready when answered."""
        if resource.noun == "DataSet":
            return "ready"
        request = self._plan.describe_version(version) if version else resource.describe
        deadline = self._waiting.clock() + self._waiting.timeout_s
        while True:
            status, problem = _status(resource.noun, self._call(request))
            if status.endswith("_SUCCESSFUL"):
                return status
            if status.endswith("_FAILED") or status == "DELETED":
                raise self._failed(resource, f"ended {status}: {problem}")
            if self._waiting.clock() >= deadline:
                raise self._failed(resource, f"still {status} after {self._waiting.timeout_s:g}s")
            self._waiting.sleep(self._waiting.interval_s)

    def _refuse_deleted(self, resource: ResourcePlan, current: dict[str, Any]) -> None:
        status, _ = _status(resource.noun, current)
        if status == "DELETED":
            raise self._failed(
                resource,
                "is deleted but still restorable; restore it in QuickSight or pick another "
                "--id-prefix",
            )

    def _failed(self, resource: ResourcePlan, what: str) -> ResourceFailedError:
        text = f"{resource.label} {resource.resource_id} {what}"
        return ResourceFailedError(scrub(" ".join(text.split()), self._secrets))

    def _call(self, request: Request) -> dict[str, Any]:
        try:
            return self._invoke(request)
        except (ClientError, BotoCoreError) as exc:
            raise self._mapped(exc, request) from exc

    def _call_unless(self, request: Request, code: str) -> dict[str, Any] | None:
        """The call's response, or ``None`` if it failed with error ``code``."""
        try:
            return self._invoke(request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == code:
                return None
            raise self._mapped(exc, request) from exc
        except BotoCoreError as exc:
            raise self._mapped(exc, request) from exc

    def _invoke(self, request: Request) -> dict[str, Any]:
        response: dict[str, Any] = getattr(self._client, xform_name(request.operation))(
            **request.params
        )
        return response

    def _mapped(self, exc: BaseException, request: Request) -> Exception:
        return map_aws_error(exc, request.operation, self._plan.target.region, self._secrets)


def _status(noun: str, response: dict[str, Any]) -> tuple[str, str]:
    """A describe response's status and its errors as one line."""
    if noun == "DataSource":
        body = response.get("DataSource", {})
        info = body.get("ErrorInfo", {})
        return str(body.get("Status", "")), f"{info.get('Type', '')} {info.get('Message', '')}"
    body = response.get(noun, {})
    if noun == "Dashboard":
        body = body.get("Version", body)
    errors = body.get("Errors", [])
    return str(body.get("Status", "")), "; ".join(
        f"{e.get('Type', '')}: {e.get('Message', '')}" for e in errors
    )


def _version(response: dict[str, Any]) -> int:
    """The dashboard version a create/update made, from its ARN (``.../version/3``)."""
    return int(str(response["VersionArn"]).rsplit("/", 1)[-1])


def _dashboard_url(plan: Plan) -> str | None:
    target = plan.target
    if target.partition != "aws":
        return None
    dashboard = target.ids["Dashboard"]
    return f"https://{target.region}.quicksight.aws.amazon.com/sn/dashboards/{dashboard}"


def secret_forms(secret: str) -> list[str]:
    """The secret as it may appear in text: raw, JSON-escaped, and as Python reprs of both."""
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, repr(secret)[1:-1], repr(escaped.encode())[2:-1]}
    return sorted((f for f in forms if f), key=len, reverse=True)


class _ScrubFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


@contextmanager
def scrubbed_logs(secrets: list[str]) -> Iterator[None]:
    """Cut ``secrets`` out of what AWS's libraries log (botocore logs request bodies at DEBUG).

    A logger's filter sees only records logged by that very logger, so the filter goes on
    every existing logger of those libraries (the client exists, so they are all imported).
    """
    scrub_filter = _ScrubFilter(secrets)
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in _LOGGER_ROOTS]
    loggers = [logging.getLogger(name) for name in {*names, *_LOGGER_ROOTS}]
    for logger in loggers:
        logger.addFilter(scrub_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(scrub_filter)
