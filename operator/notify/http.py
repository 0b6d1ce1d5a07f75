"""Outgoing JSON POSTs (Slack- and Teams-compatible incoming webhooks, the signed generic
webhook) with aiohttp: the one place their answers are sorted into "retry later" (timeouts,
connection errors, 408, 429, 5xx, with the receiver's Retry-After) and "refused for good"
(other 4xx, a redirect, a certificate that does not verify)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from whisperer.operator.errors import DeliveryDeferredError, DeliveryRefusedError

USER_AGENT = "alert-whisperer-notify/1"
Session = aiohttp.ClientSession  # for callers, which never import aiohttp themselves
MAX_ANSWER = 2048  # of a receiver's answer, kept for the error message


def make_session(*, ca_file: str | None = None, pool: int = 20) -> aiohttp.ClientSession:
    """The session every post shares (made at startup, closed at cleanup); `ca_file` is
    trusted besides the system's CAs."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=pool),
        headers={"User-Agent": USER_AGENT},
    )


@dataclass(frozen=True)
class Answer:
    """What the receiver said to a post it accepted."""

    status: int
    text: str


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _redacted(url: str) -> str:
    """The URL without its path: a chat webhook's path is its credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def classify(
    status: int, text: str, *, where: str, retry_after_s: float | None
) -> DeliveryDeferredError | DeliveryRefusedError | None:
    """None for 2xx; otherwise the error, as the Standard Webhooks specification and the
    senders' habits say: 408, 429 and 5xx are temporary, other 4xx and 3xx permanent."""
    if 200 <= status < 300:
        return None
    said = f"{where} answered {status}: {text[:300]}".rstrip(": ")
    if status in (408, 429) or status >= 500:
        return DeliveryDeferredError(said, code=status, retry_after=retry_after_s)
    if 300 <= status < 400:
        return DeliveryRefusedError(
            f"{said} (redirects are not followed: fix the URL)", code=status
        )
    return DeliveryRefusedError(said, code=status)


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: bytes | Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    time_limit: float,
    now: datetime,
    what: str = "the webhook",
) -> Answer:
    """POST one JSON body (bytes are sent as they are, so a signature over them holds);
    raises DeliveryDeferredError or DeliveryRefusedError. `now` dates a Retry-After that
    is given as a date."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    where = f"{what} at {_redacted(url)}"
    try:
        async with session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=aiohttp.ClientTimeout(total=time_limit),
            allow_redirects=False,
        ) as response:
            text = (await response.content.read(MAX_ANSWER)).decode(errors="replace")
            wait = retry_after(response.headers.get("Retry-After"), now=now)
            error = classify(response.status, text, where=where, retry_after_s=wait)
    except TimeoutError as exc:  # asyncio's and aiohttp's timeouts
        raise DeliveryDeferredError(f"{where}: no answer within {time_limit:g}s") from exc
    except aiohttp.ClientConnectorCertificateError as exc:
        raise DeliveryRefusedError(f"{where}: the certificate does not verify: {exc}") from exc
    except aiohttp.InvalidURL as exc:
        raise DeliveryRefusedError(f"{what}: not a valid URL") from exc
    except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
        raise DeliveryDeferredError(f"{where}: the connection failed: {exc}") from exc
    if error is not None:
        raise error
    return Answer(response.status, text)


# A legacy Office 365 connector answers 200 even when Teams refused, with this in the body.
_TEAMS_ERROR = re.compile(r"returned HTTP error (\d{3})")


def teams_answer_error(
    answer: Answer, *, what: str
) -> DeliveryDeferredError | DeliveryRefusedError | None:
    """The failure a Teams connector reports inside a 200 answer, if any."""
    found = _TEAMS_ERROR.search(answer.text)
    if not found:
        return None
    return classify(int(found.group(1)), answer.text, where=what, retry_after_s=None)
