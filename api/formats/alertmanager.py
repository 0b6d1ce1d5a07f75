"""Prometheus Alertmanager (webhook v4) and Grafana (webhook v1) notifications as RawAlerts.

One POST is one notification for one alert group; it can mix firing and resolved alerts,
so the state is per alert. The asset comes from the labels `instance` (without its port),
`host`, `hostname`, `node`, `nodename`, then `pod` or `service`; the severity from the
`severity` label (free text). HA peers send the same notification each with its own
`externalURL` and `receiver`, so `content_key` digests only what the notification means:
the group key, the status and each alert's fingerprint, start and end. A `version` other
than 4 (Alertmanager) or 1 (Grafana) is refused: a new payload version may mean new fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from whisperer.api.formats import severity
from whisperer.api.formats.base import (
    ROOT,
    AssetHint,
    JsonObject,
    Parsed,
    PayloadError,
    RawAlert,
    Source,
    State,
    as_list,
    as_object,
    digest,
    hint,
    path,
    string_map,
    text,
)

VERSIONS = ("4", "1")
"""Alertmanager's webhook payload version, and Grafana's; absent is read as either."""
HOST_LABELS = ("instance", "host", "hostname", "node", "nodename")
FALLBACK_LABELS = ("pod", "service")
MESSAGE_ANNOTATIONS = ("summary", "description", "message")
GRAFANA_TOP = ("orgId", "title", "state", "message")
GRAFANA_ALERT = ("values", "valueString", "dashboardURL", "silenceURL", "panelURL")
_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]+)):\d+$")


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """The alerts of one Alertmanager or Grafana notification."""
    body = as_object(payload, field=ROOT)
    version = body.get("version")
    if version is not None and version not in VERSIONS:
        raise PayloadError(
            "version",
            f"unknown version {str(version)[:20]!r}: this shim reads Alertmanager's webhook "
            "version 4 and Grafana's version 1",
            reason="unknown_version",
        )
    items = as_list(body.get("alerts"), field="alerts")
    source = _source(body, items)
    extra = {"truncated_alerts": str(n)} if (n := _truncated(body)) else {}
    alerts = tuple(
        _alert(as_object(item, field=f"alerts[{i}]"), at=f"alerts[{i}]", source=source, extra=extra)
        for i, item in enumerate(items)
    )
    return Parsed(alerts=alerts, content_key=_content_key(body, alerts=alerts, items=items))


def _source(body: JsonObject, items: list[Any]) -> Source:
    if "orgId" in body:
        return "grafana"
    if body.get("version") == "1" and (
        any(k in body for k in GRAFANA_TOP)
        or any(isinstance(a, Mapping) and any(k in a for k in GRAFANA_ALERT) for a in items)
    ):
        return "grafana"
    return "alertmanager"


def _truncated(body: JsonObject) -> int:
    value = body.get("truncatedAlerts", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError("truncatedAlerts", "must be a non-negative integer")
    return value


def _alert(item: JsonObject, *, at: str, source: Source, extra: Mapping[str, str]) -> RawAlert:
    labels = string_map(item.get("labels"), field=path(at, "labels"))
    annotations = string_map(item.get("annotations"), field=path(at, "annotations"))
    signal = labels.get("alertname", "").strip()
    if not signal:
        raise PayloadError(path(at, "labels.alertname"), "is required")
    state = _state(item, at=at)
    starts, ends = _time(item, "startsAt", at=at), _time(item, "endsAt", at=at)
    return RawAlert(
        ends_at=ends if state == "firing" and ends and starts and ends > starts else None,
        source=source,
        asset=_asset(labels),
        signal=signal,
        severity=severity.from_label(labels.get("severity")),
        state=state,
        occurred_at=_occurred_at(item, at=at, state=state),
        message=next((annotations[k] for k in MESSAGE_ANNOTATIONS if annotations.get(k)), ""),
        labels={**labels, **extra},
        key=text(item, "fingerprint", at=at) or digest(sorted(labels.items()))[:16],
    )


def _state(item: JsonObject, *, at: str) -> State:
    status = text(item, "status", at=at)
    if status == "firing":
        return "firing"
    if status == "resolved":
        return "resolved"
    raise PayloadError(path(at, "status"), "must be firing or resolved")


def _occurred_at(item: JsonObject, *, at: str, state: State) -> datetime:
    starts = _time(item, "startsAt", at=at)
    if state == "firing":
        if starts is None:
            raise PayloadError(path(at, "startsAt"), "is required for a firing alert")
        return starts
    return _time(item, "endsAt", at=at) or datetime.now(UTC)


def _time(item: JsonObject, key: str, *, at: str) -> datetime | None:
    """A time, or None when absent or Go's zero time (endsAt while firing)."""
    raw = item.get(key)
    if raw is None or raw == "":
        return None
    moment = severity.parse_time(raw, field=path(at, key))
    return None if severity.is_unset(moment) else moment


def _asset(labels: Mapping[str, str]) -> AssetHint:
    """The host labels; `pod` or `service` only when no host label is set."""
    names = [_without_port(labels.get("instance"))] + [labels.get(k) for k in HOST_LABELS[1:]]
    if not any(names):
        names = [next((labels[k] for k in FALLBACK_LABELS if labels.get(k)), None)]
    return hint(names, instance_id=labels.get("instance_id"))


def _without_port(instance: str | None) -> str | None:
    """`10.20.1.15:9100` -> `10.20.1.15`, `[::1]:9100` -> `::1`; anything else as it is."""
    if not instance:
        return None
    match = _PORT.match(instance)
    if match is None:
        return instance
    return match["v6"] or match["host"]


def _content_key(body: JsonObject, *, alerts: tuple[RawAlert, ...], items: list[Any]) -> str:
    """What the notification means, never its envelope (externalURL, receiver differ)."""
    entries = sorted(
        (alert.key, alert.state, _iso(item, "startsAt"), _iso(item, "endsAt"))
        for alert, item in zip(alerts, items, strict=True)
    )
    return digest(_plain(body.get("groupKey")), _plain(body.get("status")), entries)


def _iso(item: JsonObject, key: str) -> str:
    """A time in one spelling, so that `...Z` and `...+00:00` digest alike."""
    moment = _time(item, key, at="")
    return moment.isoformat() if moment else ""


def _plain(value: object) -> str:
    return value if isinstance(value, str) else ""
