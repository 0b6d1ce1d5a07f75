"""PagerDuty Events API v2 events (which many tools can emit) as a RawAlert, and the reply.

`routing_key` is not read here: the company is authenticated by its key elsewhere. A
trigger needs `payload.summary`, `payload.source` (the host) and `payload.severity`
(critical, error, warning, info), as PagerDuty itself requires; its `dedup_key` is made
from summary, source and component when absent, so a re-sent trigger keeps its key. An
acknowledge is valid but carries no alert (`Ignored`, with the reply). A resolve may omit
`payload`: then only its `dedup_key` says which alert (asset `unknown`, signal = the key),
so the writer must find the alert by key. Every accepted event is answered with
`{"status": "success", "message": "Event processed", "dedup_key": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from whisperer.api.formats import severity
from whisperer.api.formats.base import (
    ROOT,
    Ignored,
    JsonObject,
    Parsed,
    PayloadError,
    RawAlert,
    Severity,
    as_object,
    digest,
    hint,
    required_text,
    text,
)

ACTIONS = ("trigger", "acknowledge", "resolve")
LABEL_FIELDS = ("component", "group", "class")
MAX_DETAIL_DEPTH = 3
MAX_DETAIL_LABELS = 50


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """The alert of one Events API v2 event, with the reply PagerDuty would give."""
    event = as_object(payload, field=ROOT)
    action = text(event, "event_action")
    if action not in ACTIONS:
        raise PayloadError("event_action", "must be trigger, acknowledge or resolve")
    raw_details = event.get("payload")
    details = as_object(raw_details, field="payload") if raw_details is not None else None
    if action == "trigger" and details is None:
        raise PayloadError("payload", "is required for a trigger")
    key = text(event, "dedup_key") or (
        _generated_key(details) if action == "trigger" and details is not None else None
    )
    if key is None:
        raise PayloadError("dedup_key", f"is required for {action}")
    reply: dict[str, object] = {
        "status": "success",
        "message": "Event processed",
        "dedup_key": key,
    }
    if action == "acknowledge":
        raise Ignored("a PagerDuty acknowledge carries no alert", reply=reply)
    alert = _alert(details or {}, key=key, resolved=action == "resolve")
    content = digest({k: v for k, v in event.items() if k != "routing_key"})
    return Parsed(alerts=(alert,), content_key=content, reply=reply)


def _generated_key(details: JsonObject) -> str:
    """A key for a trigger without one: the same event, the same key."""
    parts = [text(details, k, at="payload") or "" for k in ("summary", "source", "component")]
    return digest(*parts)[:32]


def _alert(details: JsonObject, *, key: str, resolved: bool) -> RawAlert:
    summary = text(details, "summary", at="payload")
    source = text(details, "source", at="payload")
    if not resolved:
        summary = summary or required_text(details, "summary", at="payload")
        source = source or required_text(details, "source", at="payload")
    stamp = details.get("timestamp")
    return RawAlert(
        source="pagerduty",
        asset=hint([source]),
        signal=summary or key,
        severity=_severity(details, required=not resolved),
        state="resolved" if resolved else "firing",
        occurred_at=(
            severity.parse_time(stamp, field="payload.timestamp")
            if stamp is not None
            else datetime.now(UTC)
        ),
        message=summary or "",
        labels=_labels(details),
        key=key,
    )


def _severity(details: JsonObject, *, required: bool) -> Severity:
    word = text(details, "severity", at="payload")
    found = severity.from_pagerduty(word)
    if found is not None:
        return found
    if required or word is not None:
        raise PayloadError("payload.severity", "must be critical, error, warning or info")
    return severity.DEFAULT


def _labels(details: JsonObject) -> dict[str, str]:
    labels = {k: v for k in LABEL_FIELDS if (v := text(details, k, at="payload"))}
    custom = details.get("custom_details")
    if isinstance(custom, Mapping):
        for name, value in _flatten(custom, prefix="", depth=MAX_DETAIL_DEPTH):
            if len(labels) >= MAX_DETAIL_LABELS:
                break
            labels.setdefault(name, value)
    elif isinstance(custom, str | int | float) and not isinstance(custom, bool):
        labels["custom_details"] = str(custom)
    return labels


def _flatten(obj: Mapping[str, Any], *, prefix: str, depth: int) -> list[tuple[str, str]]:
    """Simple values of nested objects as (`a.b`, "value"); lists and deeper levels skipped."""
    out: list[tuple[str, str]] = []
    for name, value in obj.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, bool):
            out.append((dotted, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            out.append((dotted, str(value)))
        elif isinstance(value, Mapping) and depth > 1:
            out.extend(_flatten(value, prefix=f"{dotted}.", depth=depth - 1))
    return out
