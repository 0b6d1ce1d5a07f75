"""Our errors, each saying whether retrying can help (Flux's stalling versus waiting)."""

from __future__ import annotations


class WhispererError(Exception):
    """Base of every error Alert Whisperer raises on purpose."""


class PermanentError(WhispererError):
    """A human must change something; retrying the same input cannot help (stalled)."""


class TemporaryError(WhispererError):
    """Something outside us is not ready yet; retry after `delay` seconds (waiting)."""

    def __init__(self, message: str, *, delay: float = 10.0) -> None:
        super().__init__(message)
        self.delay = delay


class NotFoundError(PermanentError):
    """The object asked for does not exist."""


class ForbiddenError(PermanentError):
    """The caller is not allowed to do this; the API server's message says why."""


class InvalidError(PermanentError):
    """The API server refused the object as invalid; the message names the field."""


class ConflictError(TemporaryError):
    """Someone changed the object meanwhile (or it already exists); re-read and retry."""


class UnavailableError(TemporaryError):
    """The API server (or another outside system) did not answer; retry later."""


class ThrottledError(UnavailableError):
    """An outside system asked us to slow down (AWS throttling, ARM 429); retry after `delay`."""


class BusyError(TemporaryError):
    """The target is busy with another operation (Azure: another run command in progress)."""


class OutcomeUnknownError(TemporaryError):
    """A request that changes something got no answer after it was sent: it may have been
    carried out. Look it up (by its token or name) before sending it again; never resend
    blindly."""


class AssumeRoleDeniedError(ForbiddenError):
    """STS refused to let us assume a company's role (trust policy, external id, or our own
    permissions); the run fails with AssumeRoleDenied naming the role."""

    def __init__(self, message: str, *, role_arn: str) -> None:
        super().__init__(message)
        self.role_arn = role_arn


class UndeliverableError(PermanentError):
    """A command cannot reach these targets (unknown, stopped, or not managed instances or
    VMs); nothing ran on them."""

    def __init__(self, message: str, *, targets: tuple[str, ...]) -> None:
        super().__init__(message)
        self.targets = targets


class MessageRejectedError(PermanentError):
    """An email or SMS was refused for good (rejected message, unverified sender, opted-out
    or invalid number); `reason` is the provider's code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DeliveryRefusedError(PermanentError):
    """The receiving system refused a message for good (SMTP 5xx, HTTP 4xx other than 408 and
    429, a certificate that does not verify): recorded on the incident, never retried."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DeliveryDeferredError(TemporaryError):
    """The message could not be handed over now (SMTP 4xx, a connection error, a timeout, HTTP
    5xx, 408 or 429): retried with backoff; `retry_after` is the receiver's own Retry-After in
    seconds, when it sent one."""

    def __init__(
        self, message: str, *, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, delay=retry_after if retry_after is not None else 10.0)
        self.code = code
        self.retry_after = retry_after
