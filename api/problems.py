"""Errors the shim answers with, as RFC 9457 problem+json, each with the status senders need.

Senders drop an alert on any 4xx and retry only 5xx (FORMATS.md), so the status is chosen
for what the sender should do: 503 with Retry-After whenever we could not take the alert in.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

PROBLEM = "application/problem+json"
log = logging.getLogger("whisperer.api")


class Problem(Exception):  # noqa: N818 - it is rendered, not raised to the user
    """An error with a status, a short title, a detail and optional extra headers."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.reason = reason or detail
        """What the log says (the detail unless there is more to say than the sender may
        learn, as for a 401)."""
        self.extra = extra


UNAUTHORIZED = "authentication failed: check the API key and, where required, the signature"


def unauthorized(reason: str) -> Problem:
    """401 with one body for every cause (unknown key, bad or stale signature, ...), so a
    caller cannot tell which guess was closer; the cause goes to the log only."""
    return Problem(
        401, "Unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}, reason=reason
    )


def unavailable(detail: str, *, retry_after: int = 5) -> Problem:
    """503 with Retry-After: the only 'try again' every sender honours."""
    return Problem(503, "Service Unavailable", detail, headers={"Retry-After": str(retry_after)})


async def problem_response(request: Request, exc: Exception) -> JSONResponse:
    """Render a Problem (FastAPI exception handler)."""
    assert isinstance(exc, Problem)
    body = {
        "type": "about:blank",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        **exc.extra,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["requestId"] = request_id
    log.info(
        "refused",
        extra={
            "request_id": request_id,
            "status": exc.status,
            "path": request.url.path,
            "reason": exc.reason,
        },
    )
    return JSONResponse(body, status_code=exc.status, headers=exc.headers, media_type=PROBLEM)
