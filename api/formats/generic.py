"""Our own JSON format, for tools without a format of their own: one alert or a batch.

One alert is an object:

    asset_name   required  the machine or resource (a host name, IP, instance id...)
    signature    required  the signal: what is wrong ("disk_full", "service down")
    severity     required  critical, high, medium, low, info, or an alias (crit, p2, warn...)
    message      optional  free text
    tool_source  optional  the sending tool's name, kept as the label `tool_source`
    status       optional  firing (default) or resolved
    fingerprint  optional  the sender's stable id for this alert (becomes the key)
    labels       optional  an object of strings
    occurred_at  optional  RFC 3339 or epoch seconds/milliseconds; default: now

A batch is a JSON array of such objects (1 to MAX_BATCH). Since this is our format, an
unknown severity or status is an error here, unlike for the tools. The delivery id is the
header `X-Delivery-ID` or `webhook-id` (Standard Webhooks); `headers` must have lower-cased
keys (the router lower-cases them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from whisperer.api.formats import severity
from whisperer.api.formats.base import (
    ROOT,
    JsonObject,
    Parsed,
    PayloadError,
    RawAlert,
    Severity,
    State,
    as_object,
    digest,
    header,
    hint,
    path,
    required_text,
    string_map,
    text,
)
from whisperer.api.formats.base import (
    delivery_id as delivery,
)

MAX_BATCH = 500
DELIVERY_HEADERS = ("x-delivery-id", "webhook-id")


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """One alert or a batch of them, in our own format."""
    if isinstance(payload, list):
        if not 1 <= len(payload) <= MAX_BATCH:
            raise PayloadError(ROOT, f"a batch holds 1 to {MAX_BATCH} alerts, not {len(payload)}")
        alerts = tuple(_alert(item, at=path(ROOT, i)) for i, item in enumerate(payload))
    else:
        alerts = (_alert(payload, at=ROOT),)
    delivery_id = delivery(
        header(headers, *DELIVERY_HEADERS),
        field=next((h for h in DELIVERY_HEADERS if h in headers), DELIVERY_HEADERS[0]),
    )
    return Parsed(
        alerts=alerts,
        delivery_id=delivery_id,
        content_key=None if delivery_id else digest(payload),
    )


def _alert(value: object, *, at: str) -> RawAlert:
    item = as_object(value, field=at)
    labels = string_map(item.get("labels"), field=path(at, "labels"))
    tool = text(item, "tool_source", at=at)
    if tool:
        labels["tool_source"] = tool
    return RawAlert(
        source="generic",
        asset=hint([required_text(item, "asset_name", at=at)]),
        signal=required_text(item, "signature", at=at),
        severity=_severity(item, at=at),
        state=_state(item, at=at),
        occurred_at=_occurred_at(item, at=at),
        message=text(item, "message", at=at) or "",
        labels=labels,
        key=text(item, "fingerprint", at=at) or "",
    )


def _severity(item: JsonObject, *, at: str) -> Severity:
    word = required_text(item, "severity", at=at)
    found = severity.alias(word)
    if found is None:
        raise PayloadError(
            path(at, "severity"),
            f"unknown severity {word[:40]!r}: use critical, high, medium, low or info",
        )
    return found


def _state(item: JsonObject, *, at: str) -> State:
    status = text(item, "status", at=at)
    if status is None or status == "firing":
        return "firing"
    if status == "resolved":
        return "resolved"
    raise PayloadError(path(at, "status"), "must be firing or resolved")


def _occurred_at(item: JsonObject, *, at: str) -> datetime:
    raw = item.get("occurred_at")
    if raw is None:
        return datetime.now(UTC)
    return severity.parse_time(raw, field=path(at, "occurred_at"))
