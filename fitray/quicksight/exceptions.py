"""QuickSight errors, and the one place where botocore's errors become them.

Every message is one line that names the operation and what to do next; a secret the caller
passes in ``secrets`` is cut out of it, whatever AWS chose to echo back.
"""

from __future__ import annotations

from collections.abc import Iterable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from fitray.exceptions import ConfigError, FitrayError, TerminalError, TransientError

__all__ = [
    "REDACTED",
    "AccessDeniedError",
    "AwsCredentialsError",
    "DefinitionError",
    "InvalidOptionError",
    "QuickSightError",
    "QuickSightRequestError",
    "QuickSightTransientError",
    "QuickSightUnavailableError",
    "RedshiftCredentialsError",
    "ResourceFailedError",
    "map_aws_error",
    "scrub",
]

REDACTED = "**********"


class QuickSightError(FitrayError):
    """Base of every error ``fitray quicksight`` raises on purpose."""


class DefinitionError(QuickSightError, TerminalError):
    """The definitions in deploy/quicksight (or the requests built from them) are invalid."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class InvalidOptionError(QuickSightError, ConfigError):
    """A command-line value QuickSight would refuse (account id, principal ARN, id prefix)."""


class RedshiftCredentialsError(QuickSightError, ConfigError):
    """FITRAY_REDSHIFT_USER / FITRAY_REDSHIFT_PASSWORD are missing."""


class AwsCredentialsError(QuickSightError, ConfigError):
    """No usable AWS credentials (none found, a missing profile, an invalid or expired key)."""


class AccessDeniedError(QuickSightError, TerminalError):
    """The AWS identity may not call a QuickSight operation."""


class QuickSightUnavailableError(QuickSightError, TerminalError):
    """QuickSight cannot serve this account/region (no endpoint, no subscription, wrong edition)."""


class ResourceFailedError(QuickSightError, TerminalError):
    """QuickSight accepted a request but the resource ended failed, deleted or still pending."""


class QuickSightRequestError(QuickSightError, TerminalError):
    """QuickSight refused a request for another reason; the message carries AWS's code."""


class QuickSightTransientError(QuickSightError, TransientError):
    """Throttling, an internal failure or a timeout that outlived botocore's retries."""


_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
}
_UNAVAILABLE_CODES = {"UnsupportedUserEditionException", "UnsupportedPricingPlanException"}
_TRANSIENT_CODES = {"ThrottlingException", "InternalFailureException", "ServiceUnavailable"}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}


def map_aws_error(
    exc: BaseException, operation: str, region: str, secrets: Iterable[str] = ()
) -> QuickSightError:
    """The fitray error for a botocore failure of ``operation``; chain it with ``from exc``."""
    return _scrubbed(_classify(exc, operation, region), secrets)


def _classify(exc: BaseException, operation: str, region: str) -> QuickSightError:
    if isinstance(exc, ClientError):
        return _from_client_error(exc, operation)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsCredentialsError(
            "no AWS credentials found: set AWS_PROFILE (or pass --profile), or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached"
        )
    if isinstance(exc, ProfileNotFound):
        return AwsCredentialsError(f"{_one_line(str(exc))}; check ~/.aws/config or --profile")
    if isinstance(exc, NoRegionError):
        return QuickSightUnavailableError("no AWS region given: pass --region")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return QuickSightUnavailableError(
            f"{operation}: QuickSight is not reachable in region {region!r} "
            f"({_one_line(str(exc))}); check the region and the network"
        )
    if isinstance(exc, ReadTimeoutError):
        return QuickSightTransientError(f"{operation}: {_one_line(str(exc))}; try again")
    if isinstance(exc, BotoCoreError):
        return QuickSightRequestError(f"{operation}: {_one_line(str(exc))}")
    return QuickSightRequestError(f"{operation}: {type(exc).__name__}: {_one_line(str(exc))}")


def _from_client_error(exc: ClientError, operation: str) -> QuickSightError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = _one_line(str(error.get("Message", "")))
    if code in _DENIED_CODES:
        return AccessDeniedError(
            f"{operation}: access denied ({message}); the AWS identity needs "
            f"quicksight:{operation} and a QuickSight user in this account"
        )
    if code in _CREDENTIAL_CODES:
        return AwsCredentialsError(f"{operation}: AWS rejected the credentials ({code}: {message})")
    if code in _UNAVAILABLE_CODES:
        return QuickSightUnavailableError(
            f"{operation}: {code}: {message}; the API needs QuickSight Enterprise edition"
        )
    if code == "ResourceNotFoundException" and operation.startswith("Create"):
        return QuickSightUnavailableError(
            f"{operation}: {message}; is QuickSight signed up in this account and region?"
        )
    if code in _TRANSIENT_CODES:
        return QuickSightTransientError(f"{operation}: {code}: {message}; try again")
    return QuickSightRequestError(f"{operation}: {code}: {message}")


def _scrubbed(error: QuickSightError, secrets: Iterable[str]) -> QuickSightError:
    text = str(error)
    clean = scrub(text, secrets)
    if clean == text:
        return error
    return type(error)(clean)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by asterisks."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())
