"""Every request ``fitray quicksight apply`` may send, built before anything is sent.

A :class:`Plan` holds, per resource and in dependency order (data source, dataset, analysis,
dashboard), the describe that tells whether it exists, the create for when it does not, the
update and permission grant for when it does; then the publish of the dashboard version. The
same plan is validated, printed by ``--dry-run`` (secrets redacted) and applied.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from fitray.quicksight.definitions import Definitions, Target
from fitray.quicksight.exceptions import REDACTED
from fitray.quicksight.shapes import operation_model

__all__ = [
    "NOUNS",
    "Plan",
    "RedshiftCredentials",
    "Request",
    "ResourcePlan",
    "build_plan",
    "redacted",
]

NOUNS = ("DataSource", "DataSet", "Analysis", "Dashboard")
_LABELS = {"DataSource": "data source", "DataSet": "dataset", "Analysis": "analysis"}


@dataclass(frozen=True)
class RedshiftCredentials:
    """The database login QuickSight stores in the data source; the password stays a secret."""

    user: str
    password: SecretStr


@dataclass(frozen=True)
class Request:
    """One API call: the operation's name as in the model (``CreateDataSource``) and params."""

    operation: str
    params: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "params": redacted(self.params)}


@dataclass(frozen=True)
class ResourcePlan:
    noun: str
    resource_id: str
    describe: Request
    create: Request
    update: Request
    grant: Request

    @property
    def label(self) -> str:
        return _LABELS.get(self.noun, self.noun.lower())


@dataclass(frozen=True)
class Plan:
    target: Target
    resources: tuple[ResourcePlan, ...]

    def resource(self, noun: str) -> ResourcePlan:
        return next(r for r in self.resources if r.noun == noun)

    def publish(self, version: int) -> Request:
        return Request(
            "UpdateDashboardPublishedVersion",
            {
                "AwsAccountId": self.target.account_id,
                "DashboardId": self.target.ids["Dashboard"],
                "VersionNumber": version,
            },
        )

    def describe_version(self, version: int) -> Request:
        describe = self.resource("Dashboard").describe
        return Request(describe.operation, {**describe.params, "VersionNumber": version})

    def requests(self) -> list[Request]:
        """Every request of the plan (version 1 standing for the one a run creates)."""
        found = [
            request for r in self.resources for request in (r.describe, r.create, r.update, r.grant)
        ]
        return [*found, self.describe_version(1), self.publish(1)]

    def as_dict(self) -> dict[str, Any]:
        """The plan as ``--dry-run`` prints it: what each resource gets, secrets redacted."""
        return {
            "resources": [
                {
                    "resource": r.label,
                    "id": r.resource_id,
                    "first": r.describe.as_dict(),
                    "if_absent": [r.create.as_dict()],
                    "if_present": [r.update.as_dict(), r.grant.as_dict()],
                }
                for r in self.resources
            ],
            "then": self.publish(1).as_dict() | {"note": "VersionNumber: the version just made"},
        }


def build_plan(definitions: Definitions, target: Target, credentials: RedshiftCredentials) -> Plan:
    """The plan for ``target``; the only place the Redshift password enters a request."""
    resources = []
    for noun in NOUNS:
        body = copy.deepcopy(definitions.bodies[noun])
        permission = {"Principal": target.principal_arn, "Actions": definitions.owner_actions[noun]}
        if noun == "DataSource":
            body["Credentials"] = {
                "CredentialPair": {
                    "Username": credentials.user,
                    "Password": credentials.password.get_secret_value(),
                }
            }
        resources.append(_resource_plan(noun, target, body, permission))
    return Plan(target, tuple(resources))


def _resource_plan(
    noun: str, target: Target, body: dict[str, Any], permission: dict[str, Any]
) -> ResourcePlan:
    id_key = f"{noun}Id"
    key = {"AwsAccountId": target.account_id, id_key: target.ids[noun]}
    create = {**body, "Permissions": [permission]}  # ids as rendered: checked, not forced
    update_members = operation_model(f"Update{noun}").input_shape.members
    update = {name: value for name, value in create.items() if name in update_members}
    return ResourcePlan(
        noun=noun,
        resource_id=target.ids[noun],
        describe=Request(f"Describe{noun}", dict(key)),
        create=Request(f"Create{noun}", create),
        update=Request(f"Update{noun}", update),
        grant=Request(f"Update{noun}Permissions", {**key, "GrantPermissions": [permission]}),
    )


def redacted(params: Any) -> Any:
    """A copy of ``params`` with every ``Password`` value replaced by asterisks."""
    if isinstance(params, dict):
        return {
            key: REDACTED if key == "Password" else redacted(value) for key, value in params.items()
        }
    if isinstance(params, list):
        return [redacted(item) for item in params]
    return params
