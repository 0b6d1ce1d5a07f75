"""botocore's errors translated into ours, once: throttling and outages are temporary, a lost
answer to a call that changes something is "outcome unknown", the rest is permanent."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
)

from whisperer.operator.errors import (
    ForbiddenError,
    InvalidError,
    OutcomeUnknownError,
    PermanentError,
    ThrottledError,
    UnavailableError,
    WhispererError,
)

# Error codes AWS services use for "slow down" (SSM: ThrottlingException, TooManyUpdates;
# EC2-style: RequestLimitExceeded; SNS: Throttled; SES v1: Throttling; SES v2:
# TooManyRequestsException; KMS behind SNS: KMSThrottling).
THROTTLING = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "Throttled",
        "TooManyUpdates",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "KMSThrottling",
        "KMSThrottlingException",
    }
)
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
    }
)
# Session credentials that expired under us (clock skew, a long call): assume the role again.
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
SERVER = frozenset(
    {"InternalServerError", "InternalError", "InternalFailure", "ServiceUnavailable"}
)


def code_of(exc: ClientError) -> str:
    """The error's code (`Error.Code`), or '' when the answer had none."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def message_of(exc: ClientError) -> str:
    """The error's message, bounded."""
    error = exc.response.get("Error", {})
    return str(error.get("Message") or error.get("message") or exc)[:500]


def status_of(exc: ClientError) -> int:
    """The HTTP status of the answer (0 when unknown)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def translate(
    exc: Exception, *, action: str, changes: bool, throttle_delay: float
) -> WhispererError:
    """Our error for `exc`, raised by `action` (e.g. "ssm:SendCommand").

    `changes`: whether the call changes something outside (sends a command or a message). A
    lost answer to such a call (read timeout, dropped connection, a 5xx) may mean it was
    carried out: OutcomeUnknownError, so the caller looks it up before sending again.
    """
    if isinstance(exc, ClientError):
        code, message, status = code_of(exc), message_of(exc), status_of(exc)
        text = f"{action} failed: {code or status}: {message}"
        if code in THROTTLING or status == 429:
            return ThrottledError(text, delay=throttle_delay)
        if code in EXPIRED:
            return UnavailableError(text, delay=1.0)
        if code in DENIED or status in (401, 403):
            return ForbiddenError(text)
        if code in SERVER or status >= 500:
            return OutcomeUnknownError(text) if changes else UnavailableError(text)
        if code in ("ValidationException", "ValidationError", "InvalidParameterValue"):
            return InvalidError(text)
        return PermanentError(text)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return PermanentError(
            f"{action}: no usable AWS credentials in the standard chain ({exc}); set "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/pod role"
        )
    if isinstance(exc, NoRegionError):
        return PermanentError(f"{action}: no AWS region (set AWS_REGION or name one)")
    if isinstance(exc, ParamValidationError):
        return InvalidError(f"{action}: {exc}"[:500])
    if isinstance(exc, ConnectionError):  # never reached AWS: nothing was done
        return UnavailableError(f"{action}: cannot reach AWS: {exc}"[:500])
    if isinstance(exc, HTTPClientError) and changes:  # sent, then the answer was lost
        return OutcomeUnknownError(f"{action}: no answer after sending: {exc}"[:500])
    if isinstance(exc, BotoCoreError):
        return UnavailableError(f"{action}: {exc}"[:500])
    return PermanentError(f"{action}: unexpected {type(exc).__name__}: {exc}"[:500])


__all__ = ["EXPIRED", "THROTTLING", "code_of", "message_of", "status_of", "translate"]
