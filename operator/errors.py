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
