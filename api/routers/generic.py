"""Our own JSON format, for scripts and tools with a free-form webhook."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import generic
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(prefix="/v1/alerts", tags=["generic"])


@router.post("/generic", status_code=202, openapi_extra=request_body("generic"))
async def post_generic(caller: Authenticated) -> JSONResponse:
    """One alert object, or a list of them."""
    state = caller.state
    state.metrics.received.labels("generic").inc()
    parsed = parse_or_problem(
        generic.parse, decode(caller, fmt="generic"), caller=caller, state=state, fmt="generic"
    )
    return await accept(parsed, caller=caller, state=state, fmt="generic")
