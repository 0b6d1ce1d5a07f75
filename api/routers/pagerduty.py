"""PagerDuty Events API v2, which Alertmanager, Grafana, Zabbix and Datadog can all emit."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import RoutingKeyAuthenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import pagerduty
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(tags=["pagerduty"])


@router.post("/v1/alerts/pagerduty", status_code=202, openapi_extra=request_body("pagerduty"))
@router.post("/v2/enqueue", status_code=202, include_in_schema=False)
async def post_pagerduty(caller: RoutingKeyAuthenticated) -> JSONResponse:
    """trigger, acknowledge or resolve; answered as PagerDuty answers."""
    state = caller.state
    state.metrics.received.labels("pagerduty").inc()
    parsed = parse_or_problem(
        pagerduty.parse,
        decode(caller, fmt="pagerduty"),
        caller=caller,
        state=state,
        fmt="pagerduty",
    )
    return await accept(parsed, caller=caller, state=state, fmt="pagerduty")
