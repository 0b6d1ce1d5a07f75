"""Request dependencies: who is calling (API key, then HMAC), within limits, with what body."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from whisperer.api.formats import strictjson
from whisperer.api.formats.base import PayloadError
from whisperer.api.problems import Problem, unauthorized
from whisperer.api.registry import Tenant
from whisperer.api.signatures import SignatureError, verify
from whisperer.api.state import ShimState

FORM = "application/x-www-form-urlencoded"
JSON_TYPES = frozenset({"application/json", "text/plain", ""})
"""JSON, SNS's text/plain, and no type at all (a bare `curl --data-binary @file`)."""
UTF8 = frozenset({"", "utf-8", "utf8"})
MAX_FORM_FIELDS = 200
PAGERDUTY_MAX_BODY = 512 * 1024


async def get_state(request: Request) -> ShimState:
    """The application's state, made at startup."""
    state: ShimState = request.app.state.shim
    return state


State = Annotated[ShimState, Depends(get_state)]


def presented_key(request: Request) -> str | None:
    """The API key from X-API-Key, a Bearer token, a basic-auth password or ?api_key=."""
    headers = request.headers
    if key := headers.get("x-api-key"):
        return key.strip()
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return request.query_params.get("api_key") or None


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes (checked while reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Payload Too Large", f"the body is over {limit} bytes")
    chunks, size = [], 0
    receive = request.receive
    while True:  # the ASGI messages themselves: Request.stream() costs a generator each
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect  # the sender went away: nothing to answer, nothing kept
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Problem(413, "Payload Too Large", f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@dataclass(frozen=True)
class Caller:
    """An authenticated, rate-checked request: its company, raw body and headers."""

    tenant: Tenant
    body: bytes
    headers: dict[str, str]
    state: ShimState
    request_id: str = ""


async def authenticate(request: Request, state: State) -> Caller:
    """401 without a valid key, 403 when suspended, 503/429 over the rate, 413 too big,
    401 for a bad or stale signature where the company requires one."""
    return await _authenticate(request, state, presented_key(request))


async def authenticate_routing_key(request: Request, state: State) -> Caller:
    """Like `authenticate`, but a key may also come as the body's `routing_key`, the only
    place PagerDuty Events v2 senders put it (PagerDuty's own clients, and the PagerDuty
    integrations of Alertmanager, Grafana, Zabbix, Datadog). The body is read before the
    key is known, so at most PAGERDUTY_MAX_BODY bytes of it (PagerDuty's own limit)."""
    key = presented_key(request)
    if key:
        return await _authenticate(request, state, key)
    body = await read_body(request, limit=min(PAGERDUTY_MAX_BODY, state.settings.max_body_bytes))
    return await _authenticate(request, state, routing_key(body), body=body)


def routing_key(body: bytes) -> str | None:
    """The `routing_key` of a PagerDuty event body, if it has a usable one."""
    try:
        event = strictjson.loads(body)
    except PayloadError:
        return None
    key = event.get("routing_key") if isinstance(event, dict) else None
    return key.strip() or None if isinstance(key, str) else None


async def _authenticate(
    request: Request, state: ShimState, key: str | None, *, body: bytes | None = None
) -> Caller:
    if not key:
        raise Problem(
            401,
            "Unauthorized",
            "no API key (X-API-Key, Bearer, basic auth or api_key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant = await state.registry.authenticate(key)
    if tenant is None:
        state.metrics.rejected.labels("any", "key").inc()
        raise unauthorized("unknown or expired API key")
    spec = tenant.company.spec
    if spec.suspended:
        raise Problem(403, "Forbidden", f"company {tenant.name} is suspended")
    limit = spec.webhook.rate_limit
    wait = state.limiter.retry_after(tenant.name, rate=limit.requests_per_second, burst=limit.burst)
    if wait:
        raise Problem(
            limit.over_limit_status,
            "Rate Limited",
            f"over {limit.requests_per_second} requests per second",
            headers={"Retry-After": str(wait)},
        )
    most = min(spec.webhook.max_body_bytes, state.settings.max_body_bytes)
    if body is None:
        body = await read_body(request, limit=most)
    elif len(body) > most:
        raise Problem(413, "Payload Too Large", f"the body is over {most} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if spec.webhook.require_signature:
        try:
            verify(headers, body, tenant.credentials.valid_hmac_secrets())
        except SignatureError as exc:
            # A secret rotated a moment ago: look again once before refusing.
            fresh = (
                await state.registry.authenticate(key)
                if await state.registry.refresh_if_stale()
                else None
            )
            try:
                if fresh is None:
                    raise exc
                verify(headers, body, fresh.credentials.valid_hmac_secrets())
            except SignatureError as final:
                state.metrics.rejected.labels("any", "signature").inc()
                raise unauthorized(f"signature refused: {final}") from final
            tenant = fresh
    return Caller(tenant, body, headers, state, getattr(request.state, "request_id", ""))


Authenticated = Annotated[Caller, Depends(authenticate)]
RoutingKeyAuthenticated = Annotated[Caller, Depends(authenticate_routing_key)]


def decode(caller: Caller, *, fmt: str, forms: bool = False) -> Any:
    """The body as JSON (also when sent as text/plain, as SNS does, or with no type), or
    form fields where `forms`; 415 for any other content type, 400 if it does not parse."""
    ctype, _, params = caller.headers.get("content-type", "").partition(";")
    ctype = ctype.strip().lower()
    if forms and ctype == FORM:
        try:
            text = caller.body.decode()
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
        except UnicodeDecodeError as exc:
            caller.state.metrics.rejected.labels(fmt, "malformed").inc()
            raise Problem(400, "Bad Request", "the form body is not UTF-8") from exc
        except ValueError as exc:  # too many fields
            caller.state.metrics.rejected.labels(fmt, "malformed").inc()
            raise Problem(400, "Bad Request", f"the form body: {exc}") from exc
    charset = _charset(params)
    if not (ctype in JSON_TYPES or ctype.endswith("+json")) or charset not in UTF8:
        caller.state.metrics.rejected.labels(fmt, "media_type").inc()
        accepted = "application/json" + (f" or {FORM}" if forms else "")
        spelled = ctype + (f"; charset={charset}" if charset not in UTF8 else "")
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Content-Type {spelled[:80]!r} is not accepted here: send {accepted} (UTF-8)",
            headers={"Accept-Post": accepted.replace(" or ", ", ")},
        )
    try:
        return strictjson.loads(caller.body)
    except PayloadError as exc:
        caller.state.metrics.rejected.labels(fmt, exc.reason).inc()
        raise Problem(400, "Bad Request", str(exc.problem), field=exc.field) from exc


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return ""
