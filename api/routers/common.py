"""What every format's endpoint does once its parser has run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse

from whisperer.api.deps import Caller
from whisperer.api.formats.base import Ignored, Parsed, PayloadError, check
from whisperer.api.ingest import DeliveryReused
from whisperer.api.problems import Problem
from whisperer.api.state import ShimState
from whisperer.operator.errors import ForbiddenError, InvalidError

Parser = Callable[..., Parsed]
log = logging.getLogger("whisperer.api")

ACCEPTED_EXAMPLE = {
    "status": "accepted",
    "accepted": 1,
    "alerts": ["al-5f0c2a9e1b7d4c3a"],
    "duplicate": False,
}


def parse_or_problem(
    parse: Parser, payload: Any, *, caller: Caller, state: ShimState, fmt: str
) -> Parsed | None:
    """The parser's result; None for a valid request that carries no alert; 400 if bad."""
    try:
        parsed: Parsed = parse(payload, headers=caller.headers)
        for alert in parsed.alerts:
            check(alert)
        return parsed
    except PayloadError as exc:
        state.metrics.rejected.labels(fmt, exc.reason).inc()
        raise Problem(400, "Bad Request", str(exc), field=exc.field) from exc
    except Ignored as ignored:
        reply = getattr(ignored, "reply", None)
        return Parsed(alerts=(), reply=reply) if reply else None


async def accept(
    parsed: Parsed | None, *, caller: Caller, state: ShimState, fmt: str
) -> JSONResponse:
    """Write the alerts and answer 202 (or the sender's expected reply) once durable."""
    if parsed is None:
        return JSONResponse({"status": "ignored"}, status_code=200)
    if not parsed.alerts:
        return JSONResponse(parsed.reply or {"status": "ignored"}, status_code=202)
    try:
        outcome = await state.ingestor.ingest(caller.tenant, parsed, body=caller.body, fmt=fmt)
    except DeliveryReused as exc:
        raise Problem(
            422,
            "Unprocessable Content",
            f"{exc}: a retry must send the same body; a new alert needs a new delivery id",
            field="delivery id",
        ) from exc
    except InvalidError as exc:
        state.metrics.rejected.labels(fmt, "unstorable").inc()
        raise Problem(422, "Unprocessable Content", f"the alert cannot be stored: {exc}") from exc
    except ForbiddenError as exc:  # the shim's own RBAC is wrong: an operator must fix it
        raise Problem(
            503,
            "Service Unavailable",
            "the shim may not write alerts",
            headers={"Retry-After": "60"},
        ) from exc
    log.info(
        "accepted",
        extra={
            "company": caller.tenant.name,
            "format": fmt,
            "accepted": outcome.accepted,
            "duplicate": outcome.duplicate,
            "request_id": caller.request_id,
        },
    )
    body: Mapping[str, Any] = parsed.reply or {
        "status": "accepted",
        "accepted": outcome.accepted,
        "alerts": list(outcome.alerts),
        "duplicate": outcome.duplicate,
    }
    return JSONResponse(dict(body), status_code=202)
