"""Datadog's Webhooks integration: user-edited templates, as JSON or form fields."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import datadog
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(prefix="/v1/alerts", tags=["datadog"])


@router.post("/datadog", status_code=202, openapi_extra=request_body("datadog"))
async def post_datadog(caller: Authenticated) -> JSONResponse:
    """A Datadog monitor notification (default or extended template)."""
    state = caller.state
    state.metrics.received.labels("datadog").inc()
    parsed = parse_or_problem(
        datadog.parse,
        decode(caller, fmt="datadog", forms=True),
        caller=caller,
        state=state,
        fmt="datadog",
    )
    return await accept(parsed, caller=caller, state=state, fmt="datadog")
