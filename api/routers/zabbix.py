"""Zabbix's webhook media type: macro-expanded parameters, as strings."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import zabbix
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(prefix="/v1/alerts", tags=["zabbix"])


@router.post("/zabbix", status_code=202, openapi_extra=request_body("zabbix"))
async def post_zabbix(caller: Authenticated) -> JSONResponse:
    """A problem, recovery or update event from the Zabbix webhook script."""
    state = caller.state
    state.metrics.received.labels("zabbix").inc()
    parsed = parse_or_problem(
        zabbix.parse, decode(caller, fmt="zabbix"), caller=caller, state=state, fmt="zabbix"
    )
    return await accept(parsed, caller=caller, state=state, fmt="zabbix")
