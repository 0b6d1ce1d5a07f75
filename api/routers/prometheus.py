"""Prometheus Alertmanager (webhook_config, v4) and Grafana (webhook contact point, v1)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, decode
from whisperer.api.examples import request_body
from whisperer.api.formats import alertmanager
from whisperer.api.routers.common import accept, parse_or_problem

router = APIRouter(prefix="/v1/alerts", tags=["prometheus"])


@router.post("/alertmanager", status_code=202, openapi_extra=request_body("alertmanager"))
async def post_alertmanager(caller: Authenticated) -> JSONResponse:
    """An Alertmanager notification: every alert of the group, firing and resolved."""
    state = caller.state
    state.metrics.received.labels("alertmanager").inc()
    parsed = parse_or_problem(
        alertmanager.parse,
        decode(caller, fmt="alertmanager"),
        caller=caller,
        state=state,
        fmt="alertmanager",
    )
    return await accept(parsed, caller=caller, state=state, fmt="alertmanager")


@router.post("/grafana", status_code=202, openapi_extra=request_body("grafana"))
async def post_grafana(caller: Authenticated) -> JSONResponse:
    """A Grafana webhook contact point notification (optionally HMAC-signed)."""
    state = caller.state
    state.metrics.received.labels("grafana").inc()
    parsed = parse_or_problem(
        alertmanager.parse, decode(caller, fmt="grafana"), caller=caller, state=state, fmt="grafana"
    )
    return await accept(parsed, caller=caller, state=state, fmt="grafana")
