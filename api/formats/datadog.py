"""Datadog webhook notifications (a user-edited template, JSON or form fields) as a RawAlert.

Every value is what a template variable expanded to, so everything is a string (numbers
are accepted too). The field names we read are Datadog's variable names in lower snake
case; other fields are ignored:

    title / event_title    $EVENT_TITLE, e.g. "[P2] [Triggered on {host:pm-db01}] Disk full"
    alert_title            $ALERT_TITLE, the monitor's name (the signal when present)
    body / event_msg       $EVENT_MSG (the message; Datadog's %%% markers are removed)
    date / last_updated    $DATE / $LAST_UPDATED, epoch milliseconds as a string
    id                     $ID, the event id (kept as a label)
    alert_id               $ALERT_ID, the monitor (shared by all its groups)
    alert_transition       Triggered, Re-Triggered, Recovered, Warn, Re-Warn, No Data...
    alert_type             error, warning, success, info
    alert_priority         P1..P5
    alert_cycle_key        stable from trigger to recovery: the key
    aggreg_key             $AGGREG_KEY, the key when there is no cycle key
    hostname               $HOSTNAME
    tags                   $TAGS, comma-separated key:value
    alert_scope, alert_metric, alert_query, alert_status, event_type, link,
    org_id / org.id, org_name / org.name                              (kept as labels)

The default template has neither host nor transition: then the transition and host come
from the title (`[Recovered on {host:pm-db01}]`), the host from a `host:` tag otherwise.
A variable that did not expand (the literal text `$HOSTNAME`) counts as absent.
"""

from __future__ import annotations

import re
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
    State,
    as_object,
    digest,
    hint,
    text,
)

LABEL_FIELDS = (
    "id",
    "alert_id",
    "alert_transition",
    "alert_type",
    "alert_priority",
    "alert_scope",
    "alert_metric",
    "alert_query",
    "alert_status",
    "event_type",
    "link",
    "org_id",
    "org_name",
    "tags",
)
FIELDS = (
    *("title", "event_title", "alert_title", "body", "event_msg", "date", "last_updated"),
    *("alert_cycle_key", "aggreg_key", "hostname"),
    *LABEL_FIELDS,
)
_UNEXPANDED = re.compile(r"\$[A-Z][A-Z0-9_.]*")
_TITLE_PREFIX = re.compile(
    r"\s*(?:\[(?P<priority>P[1-5])\]\s*)?"
    r"\[(?P<transition>(?:Re-)?(?:Triggered|Warn|No Data)|Recovered|Renotify)"
    r"(?: on (?P<scope>[^\]]*))?\]\s*"
)
_SCOPE_HOST = re.compile(r"\bhost:(?P<host>[^,}\s]+)")
_MARKDOWN_FENCE = re.compile(r"^\s*%%%\s*|\s*%%%\s*$")


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """The alert of one Datadog notification."""
    fields = _fields(as_object(payload, field=ROOT))
    title = fields.get("title") or fields.get("event_title") or ""
    prefix = _TITLE_PREFIX.match(title)
    signal = fields.get("alert_title") or title[prefix.end() if prefix else 0 :].strip()
    if not signal:
        raise PayloadError("title", "is required (or alert_title)")
    tags = _tags(fields.get("tags"))
    asset = hint([fields.get("hostname") or tags.get("host") or _scope_host(prefix)])
    alert = RawAlert(
        source="datadog",
        asset=asset,
        signal=signal,
        severity=severity.from_datadog(
            priority=fields.get("alert_priority") or (prefix["priority"] if prefix else None),
            alert_type=fields.get("alert_type"),
        ),
        state=_state(fields, prefix=prefix),
        occurred_at=_occurred_at(fields),
        message=_MARKDOWN_FENCE.sub("", fields.get("body") or fields.get("event_msg") or ""),
        labels=_labels(fields, tags=tags),
        key=_key(fields, asset=asset.name),
    )
    return Parsed(alerts=(alert,), content_key=digest(payload))


def _fields(body: JsonObject) -> dict[str, str]:
    """The fields we know as strings, unexpanded variables dropped, `org` flattened."""
    fields: dict[str, str] = {}
    org = body.get("org")
    if isinstance(org, Mapping):
        for key in ("id", "name"):
            value = text(org, key, at="org", numbers=True)
            if value and not _UNEXPANDED.fullmatch(value):
                fields[f"org_{key}"] = value
    for key in FIELDS:
        value = text(body, key, numbers=True)
        if value and not _UNEXPANDED.fullmatch(value):
            fields[key] = value
    return fields


def _tags(raw: str | None) -> dict[str, str]:
    """`env:prod, host:pm-db01, role:db` -> {"env": "prod", ...}; bare tags are skipped."""
    tags: dict[str, str] = {}
    for tag in (raw or "").split(","):
        key, sep, value = tag.strip().partition(":")
        if sep and key and value and key not in tags:
            tags[key] = value
    return tags


def _scope_host(prefix: re.Match[str] | None) -> str | None:
    """`[Triggered on {host:pm-db01,env:prod}]` -> `pm-db01`."""
    found = _SCOPE_HOST.search(prefix["scope"] or "") if prefix else None
    return found["host"] if found else None


def _state(fields: Mapping[str, str], *, prefix: re.Match[str] | None) -> State:
    transition = fields.get("alert_transition")
    if transition is None and prefix is not None:
        transition = prefix["transition"]
    if transition is not None:
        return "resolved" if transition.lower() == "recovered" else "firing"
    return "resolved" if fields.get("alert_type", "").lower() == "success" else "firing"


def _occurred_at(fields: Mapping[str, str]) -> datetime:
    for key in ("date", "last_updated"):
        if key in fields:
            return severity.parse_time(fields[key], field=key)
    return datetime.now(UTC)


def _labels(fields: Mapping[str, str], *, tags: Mapping[str, str]) -> dict[str, str]:
    labels = {key: fields[key] for key in LABEL_FIELDS if key in fields}
    for key, value in tags.items():
        labels.setdefault(key, value)
    return labels


def _key(fields: Mapping[str, str], *, asset: str) -> str:
    if "alert_cycle_key" in fields:
        return fields["alert_cycle_key"]
    if "aggreg_key" in fields:
        return fields["aggreg_key"]
    return f"{fields['alert_id']}:{asset}" if "alert_id" in fields else ""
