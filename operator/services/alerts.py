"""An Alert resource from a normalized report: its name, fingerprint and the fields it folds."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.models.v1alpha1.common import SEVERITY_RANK

DELIVERIES_KEPT = 20


@functools.lru_cache(maxsize=4096)
def canonical_signal(raw: str) -> str:
    """A stable, readable signal name from a tool's (until the taxonomy maps it)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", raw.strip())
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    return slug[:200] or "unknown"


def fingerprint(*, company: str, source: str, identity: str) -> str:
    """One Alert per (company, source, identity): 16 hex characters. The identity is the
    tool's own alert key where it has one, else the asset and canonical signal."""
    text = "\x1f".join((company, source, identity.lower()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def delivery_digest(key: str) -> str:
    """A short, fixed-size record of a delivery id or content key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def iso(when: datetime) -> str:
    """RFC 3339 in UTC, to the millisecond."""
    # Not strftime: its %Y does not pad years before 1000 ("1-01-01"), which the API
    # server refuses as a date-time (a tool's Go zero time gets here).
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
        f"{when.second:02d}.{when.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True)
class Report:
    """One normalized alert report, ready to fold into its Alert."""

    company: str
    fingerprint: str
    source: str
    asset: str
    asset_known: bool
    signal: str
    raw_signal: str
    severity: str
    state: str
    occurred_at: datetime
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    delivery: str | None = None
    """The digest of the delivery this report came in, for exactly-once folding."""
    ends_at: datetime | None = None
    """When the firing alert ends unless renewed (Alertmanager's endsAt), if the tool said."""


def alert_name(fp: str) -> str:
    """The Alert's object name."""
    return f"al-{fp}"


def new_alert(reports: list[Report], namespace: str) -> dict[str, Any]:
    """The Alert to create from the first reports of a fingerprint."""
    reports = _unseen(reports, seen=set())
    first = min(reports, key=lambda r: r.occurred_at)
    spec = _spec_update(None, reports)
    spec.update(
        fingerprint=first.fingerprint,
        source=first.source,
        firstSeen=iso(first.occurred_at),
    )
    spec = {k: v for k, v in spec.items() if v is not None}
    return {
        "apiVersion": API_VERSION,
        "kind": "Alert",
        "metadata": {
            "name": alert_name(first.fingerprint),
            "namespace": namespace,
            "labels": {
                "alertwhisperer.io/company": first.company,
                "alertwhisperer.io/source": first.source,
            },
        },
        "spec": spec,
    }


def fold(spec: dict[str, Any] | None, reports: list[Report]) -> dict[str, Any] | None:
    """The spec patch that folds reports into an existing Alert, or None when every report
    was already folded (a redelivery)."""
    unique = _unseen(reports, seen=set((spec or {}).get("deliveries") or []))
    if not unique:
        return None
    return _spec_update(spec, unique)


def _unseen(reports: list[Report], *, seen: set[str]) -> list[Report]:
    """Reports whose delivery is not recorded yet; copies within the batch count once."""
    unique: list[Report] = []
    seen = set(seen)
    for r in reports:
        if r.delivery is not None:
            if r.delivery in seen:
                continue
            seen.add(r.delivery)
        unique.append(r)
    return unique


def _loudest(reports: list[Report], latest: Report) -> str:
    """The severity a batch of reports writes: the loudest firing report since the batch's
    last resolution, so a rise the shim folded into one write with quieter reports is still
    seen (the next write says how loud the alert is after it)."""
    if latest.state != "firing":
        return latest.severity
    resolved = [r.occurred_at for r in reports if r.state == "resolved"]
    since = max(resolved) if resolved else None
    firing = [
        r for r in reports if r.state == "firing" and (since is None or r.occurred_at > since)
    ]
    return max(firing or [latest], key=lambda r: SEVERITY_RANK.get(r.severity, 0)).severity


def _spec_update(spec: dict[str, Any] | None, reports: list[Report]) -> dict[str, Any]:
    spec = spec or {}
    latest = max(reports, key=lambda r: r.occurred_at)
    last_seen = spec.get("lastSeen")
    newer = last_seen is None or iso(latest.occurred_at) >= str(last_seen)
    update: dict[str, Any] = {
        "occurrences": int(spec.get("occurrences", 0)) + len(reports),
        "deliveries": (
            [*(spec.get("deliveries") or []), *(r.delivery for r in reports if r.delivery)]
        )[-DELIVERIES_KEPT:],
    }
    if newer and spec and latest.state == "resolved":
        # A resolution may carry placeholders (PagerDuty resolve has no payload): it changes
        # the state, not what the alert is about.
        update.update(
            state="resolved", lastSeen=iso(latest.occurred_at), resolvedAt=iso(latest.occurred_at)
        )
    elif newer:  # a late delivery (older event time) counts but does not change the state
        update.update(
            asset={"name": latest.asset, "known": latest.asset_known},
            signal=latest.signal,
            rawSignal=latest.raw_signal[:256],
            severity=_loudest(reports, latest),
            state=latest.state,
            message=latest.message[:4096],
            labels={k[:63]: v[:1024] for k, v in list(latest.labels.items())[:64]},
            lastSeen=iso(latest.occurred_at),
            resolvedAt=iso(latest.occurred_at) if latest.state == "resolved" else None,
            endsAt=iso(latest.ends_at) if latest.ends_at and latest.state == "firing" else None,
        )
    first_seen = spec.get("firstSeen")
    earliest = min(reports, key=lambda r: r.occurred_at)
    if first_seen and iso(earliest.occurred_at) < str(first_seen):
        update["firstSeen"] = iso(earliest.occurred_at)
    return update
