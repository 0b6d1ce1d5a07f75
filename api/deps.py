"""Request dependencies: who is calling (API key, then HMAC), within limits, with what body."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from whisperer.api.problems import Problem
from whisperer.api.registry import Tenant
from whisperer.api.signatures import SignatureError, verify
from whisperer.api.state import ShimState


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
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "Payload Too Large", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
    key = presented_key(request)
    if not key:
        raise Problem(
            401,
            "Unauthorized",
            "no API key (X-API-Key, Bearer, basic auth or api_key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant = await state.registry.authenticate(key)
    if tenant is None:
        raise Problem(
            401,
            "Unauthorized",
            "unknown or expired API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
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
    body = await read_body(
        request, limit=min(spec.webhook.max_body_bytes, state.settings.max_body_bytes)
    )
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
                raise Problem(401, "Unauthorized", f"signature refused: {final}") from final
            tenant = fresh
    return Caller(tenant, body, headers, state, getattr(request.state, "request_id", ""))


Authenticated = Annotated[Caller, Depends(authenticate)]


def decode(caller: Caller, *, forms: bool = False) -> Any:
    """JSON whatever the content type says (SNS sends text/plain); form fields if allowed."""
    ctype = caller.headers.get("content-type", "").split(";")[0].strip().lower()
    if forms and ctype == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(caller.body.decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise Problem(400, "Bad Request", "the form body is not UTF-8") from exc
    try:
        return json.loads(caller.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Bad Request", f"malformed JSON: {exc}") from exc
