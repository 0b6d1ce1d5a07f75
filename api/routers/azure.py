"""Azure Monitor action groups, with the common alert schema."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import azure
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(prefix="/v1/alerts", tags=["azure"])


@router.post("/azure", status_code=202, openapi_extra=request_body("azure"))
async def post_azure(caller: Authenticated) -> JSONResponse:
    """A Fired or Resolved alert in the common alert schema."""
    state = caller.state
    state.metrics.received.labels("azure").inc()
    parsed = parse_or_problem(
        azure.parse, decode(caller, fmt="azure"), caller=caller, state=state, fmt="azure"
    )
    return await accept(parsed, caller=caller, state=state, fmt="azure")
