"""CloudWatch alarms through Amazon SNS (signed, confirmed), and EventBridge events."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from whisperer.api.deps import Authenticated, Caller, decode
from whisperer.api.examples import request_body
from whisperer.api.fetch import https_getter
from whisperer.api.formats import cloudwatch, sns_signature
from whisperer.api.formats.base import Confirm
from whisperer.api.problems import Problem, unauthorized
from whisperer.api.routers.common import accept, parse_or_problem
from whisperer.api.signatures import SignatureError

router = APIRouter(prefix="/v1/alerts", tags=["aws"])


@router.post("/sns", status_code=202, openapi_extra=request_body("sns"))
async def post_sns(caller: Authenticated) -> JSONResponse:
    """An SNS HTTP(S) subscription: confirmations, CloudWatch alarm notifications."""
    state = caller.state
    state.metrics.received.labels("sns").inc()
    payload = decode(caller, fmt="sns")
    fetch = state.fetch or https_getter()
    raw = caller.headers.get("x-amz-sns-rawdelivery", "").lower() == "true"
    sns = caller.tenant.company.spec.webhook.sns
    if state.settings.sns_verify and not raw:
        try:
            await asyncio.to_thread(
                sns_signature.verify,
                payload,
                fetch_cert=fetch,
                allowed_hosts=state.settings.sns_cert_hosts,
                allow_v1=sns.allow_signature_v1,
            )
        except SignatureError as exc:
            state.metrics.rejected.labels("sns", "signature").inc()
            raise unauthorized(f"SNS signature refused: {exc}") from exc
        except (OSError, ValueError) as exc:  # the certificate could not be fetched: retry
            raise Problem(
                503,
                "Service Unavailable",
                f"could not fetch the SNS signing certificate: {exc}",
                headers={"Retry-After": "20"},
            ) from exc
    _check_topic(payload, caller=caller, raw=raw, allowed=sns.topic_arns)
    try:
        parsed = parse_or_problem(cloudwatch.parse, payload, caller=caller, state=state, fmt="sns")
    except Confirm as confirm:
        host = urlsplit(confirm.subscribe_url).hostname or ""
        if urlsplit(
            confirm.subscribe_url
        ).scheme != "https" or not state.settings.sns_cert_hosts.match(host):
            raise Problem(
                400,
                "Bad Request",
                f"SubscribeURL host {host!r} is not an SNS host",
                field="SubscribeURL",
            ) from None
        try:
            await asyncio.to_thread(fetch, confirm.subscribe_url)
        except (OSError, ValueError) as exc:
            raise Problem(
                503,
                "Service Unavailable",
                f"could not confirm: {exc}",
                headers={"Retry-After": "20"},
            ) from exc
        return JSONResponse({"status": "confirmed", "topicArn": confirm.topic_arn})
    return await accept(parsed, caller=caller, state=state, fmt="sns")


def _check_topic(payload: object, *, caller: Caller, raw: bool, allowed: list[str]) -> None:
    """403 unless the message's topic (TopicArn, or the x-amz-sns-topic-arn header of a raw
    delivery) is on the company's allow-list; an empty list allows any topic."""
    if not allowed:
        return
    topic = caller.headers.get("x-amz-sns-topic-arn", "").strip()
    if not raw and isinstance(payload, dict) and isinstance(payload.get("TopicArn"), str):
        topic = payload["TopicArn"]
    if topic not in allowed:
        caller.state.metrics.rejected.labels("sns", "topic").inc()
        raise Problem(
            403,
            "Forbidden",
            f"SNS topic {topic[:256]!r} is not on the company's allow-list "
            "(spec.webhook.sns.topicArns)",
        )


@router.post("/eventbridge", status_code=202, openapi_extra=request_body("eventbridge"))
async def post_eventbridge(caller: Authenticated) -> JSONResponse:
    """An EventBridge API destination delivering "CloudWatch Alarm State Change" events."""
    state = caller.state
    state.metrics.received.labels("eventbridge").inc()
    parsed = parse_or_problem(
        cloudwatch.parse_eventbridge,
        decode(caller, fmt="eventbridge"),
        caller=caller,
        state=state,
        fmt="eventbridge",
    )
    return await accept(parsed, caller=caller, state=state, fmt="eventbridge")
