"""One gate before AWS: every request of a plan against the model, plus its cross-references."""

from __future__ import annotations

import re

from fitray.quicksight.definitions import Target
from fitray.quicksight.exceptions import DefinitionError, InvalidOptionError
from fitray.quicksight.plan import Plan
from fitray.quicksight.references import check_references
from fitray.quicksight.shapes import Violation, check_request, check_value

__all__ = ["PRINCIPAL_PATTERN", "check_options", "check_plan", "ensure_valid"]

# Owners of data sources and datasets must be QuickSight users or groups (not IAM ARNs).
PRINCIPAL_PATTERN = re.compile(r"arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+")
_SHOWN = 3


def check_plan(plan: Plan) -> list[Violation]:
    """Every problem of the plan: options first (alone, as every request repeats them), then
    the model constraints of each request, then the references."""
    found = check_options(plan.target)
    if found:
        return found
    for request in plan.requests():
        found += check_request(request.operation, request.params)
    try:
        return found + check_references(plan)
    except (AttributeError, KeyError, TypeError, StopIteration):
        # malformed JSON: the model checks above say where; references need a sane shape first
        return [*found, Violation("references", "not checked until the problems above are fixed")]


def check_options(target: Target) -> list[Violation]:
    """The command-line values, each checked once against the shape it ends up in."""
    found = []
    account = check_value("AwsAccountId", target.account_id)
    found += [Violation("--account-id", m) for m in account]
    for noun, resource_id in target.ids.items():
        shape = "ResourceId" if noun in ("DataSource", "DataSet") else "ShortRestrictiveResourceId"
        found += [Violation("--id-prefix", m) for m in check_value(shape, resource_id)]
    if not PRINCIPAL_PATTERN.fullmatch(target.principal_arn):
        found.append(
            Violation(
                "--principal-arn",
                f"{target.principal_arn!r} is not a QuickSight user or group ARN "
                "(arn:aws:quicksight:REGION:ACCOUNT:user/default/NAME)",
            )
        )
    return found


def ensure_valid(plan: Plan) -> None:
    """Raise one error naming the first problems: options first, then the definitions."""
    options = check_options(plan.target)
    if options:
        raise InvalidOptionError("; ".join(str(v) for v in options))
    problems = [str(v) for v in check_plan(plan)]
    if not problems:
        return
    shown = "; ".join(problems[:_SHOWN])
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    raise DefinitionError(
        f"{len(problems)} problem(s) before anything was sent: {shown}{more}; "
        "`fitray quicksight validate` lists them all",
        problems,
    )
