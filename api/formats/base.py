"""What every parser returns, and the errors a parser may raise.

A parser turns one request body (already authenticated) into RawAlerts: what the tool said,
in the tool's words, with nothing looked up yet. Resolving the asset against the company's
inventory, the fingerprint and the write happen later, the same way for every format.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
State = Literal["firing", "resolved"]
Source = Literal[
    "alertmanager",
    "grafana",
    "datadog",
    "cloudwatch",
    "zabbix",
    "pagerduty",
    "azure-monitor",
    "generic",
]


@dataclass(frozen=True)
class AssetHint:
    """Everything the tool said about which machine or resource the alert is about.

    Any of these may find the asset in the inventory: instance id, resource id, host name,
    IP address. `name` is what to show (and keep) when nothing matches.
    """

    name: str
    hostnames: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    instance_id: str | None = None
    resource_id: str | None = None


@dataclass(frozen=True)
class RawAlert:
    """One alert as a tool reported it, mapped onto our scale but not yet resolved."""

    source: Source
    asset: AssetHint
    signal: str
    """The tool's name for the problem (alertname, AlarmName, trigger name, title...)."""
    severity: Severity
    state: State
    occurred_at: datetime
    """Event time, timezone-aware: when the tool says it started (or resolved)."""
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    key: str = ""
    """The tool's own stable id for this alert if it has one (Alertmanager fingerprint,
    AlarmArn, Zabbix EVENT.ID, PagerDuty dedup_key, Datadog ALERT_CYCLE_KEY...)."""
    ends_at: datetime | None = None
    """When the tool says a firing alert ends unless renewed (Alertmanager's endsAt), if it
    says so: past it without a new report, the alert is stale."""


@dataclass(frozen=True)
class Parsed:
    """What a request carried: alerts, and the sender's delivery id if it has one."""

    alerts: tuple[RawAlert, ...]
    delivery_id: str | None = None
    """A per-delivery id kept on retries (SNS message id, EventBridge id...), if any."""
    content_key: str | None = None
    """For senders without a delivery id: a stable digest of what the request means (for
    Alertmanager: group key, status, sorted fingerprints with start and end), never of the
    envelope (externalURL differs between HA peers)."""
    reply: dict[str, object] | None = None
    """A body the sender expects back (PagerDuty), if any."""


class PayloadError(ValueError):
    """The request is malformed: 400, naming the field (`field`) and what is wrong.
    `reason` is the metric's label (`malformed` unless a format says better)."""

    def __init__(self, field: str, problem: str, *, reason: str = "malformed") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.reason = reason


class Ignored(Exception):  # noqa: N818 (an outcome, not a failure)
    """A valid request that carries no alert (a Zabbix update, SNS unsubscribe...): 2xx."""

    def __init__(self, reason: str = "", *, reply: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        """A body the sender expects back even so (a PagerDuty acknowledge), if any."""


class Confirm(Exception):  # noqa: N818 (a request to act, not a failure)
    """An SNS SubscriptionConfirmation: the router GETs `subscribe_url` (after checking its
    host) to start the subscription, and answers 2xx."""

    def __init__(self, subscribe_url: str, topic_arn: str) -> None:
        super().__init__(f"confirm the subscription to {topic_arn}")
        self.subscribe_url = subscribe_url
        self.topic_arn = topic_arn


# Reading decoded JSON without ever raising anything but PayloadError. Field paths read like
# `alerts[2].labels.alertname`; the body itself is `body`.

ROOT = "body"
JsonObject = Mapping[str, Any]
_EC2_INSTANCE = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_DELIVERY_ID = 255
MAX_ASSET = 253
MAX_SIGNAL = 1024
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def path(parent: str, key: str | int) -> str:
    """The path of `key` under `parent`: `alerts` + 2 -> `alerts[2]`, + `labels` -> ..."""
    if isinstance(key, int):
        return f"{'' if parent == ROOT else parent}[{key}]"
    return key if parent in ("", ROOT) else f"{parent}.{key}"


def as_object(value: object, *, field: str) -> JsonObject:
    """`value` as a JSON object, or a PayloadError naming `field`."""
    if not isinstance(value, Mapping):
        raise PayloadError(field, f"must be an object, not {kind(value)}")
    return value


def as_list(value: object, *, field: str) -> list[Any]:
    """`value` as a JSON array, or a PayloadError naming `field`."""
    if not isinstance(value, list):
        raise PayloadError(field, f"must be an array, not {kind(value)}")
    return value


def text(obj: JsonObject, key: str, *, at: str = ROOT, numbers: bool = False) -> str | None:
    """The string at `obj[key]`: None when absent, null or blank; numbers too if `numbers`
    (template engines leave them unquoted); any other type is a PayloadError."""
    value = obj.get(key)
    if value is None:
        return None
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PayloadError(path(at, key), f"must be a string, not {kind(value)}")
    return value.strip() or None


def required_text(obj: JsonObject, key: str, *, at: str = ROOT, numbers: bool = False) -> str:
    """Like `text`, but absent or blank is a PayloadError too."""
    value = text(obj, key, at=at, numbers=numbers)
    if value is None:
        raise PayloadError(path(at, key), "is required")
    return value


def string_map(value: object, *, field: str) -> dict[str, str]:
    """An object whose values are all strings (labels), or a PayloadError naming the key."""
    if value is None:
        return {}
    obj = as_object(value, field=field)
    out: dict[str, str] = {}
    for key, item in obj.items():
        if not isinstance(item, str):
            raise PayloadError(path(field, str(key)), f"must be a string, not {kind(item)}")
        out[str(key)] = item
    return out


def header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first of these headers that is set. The router passes lower-cased keys; other
    spellings are found too, by a case-insensitive scan."""
    lowered: dict[str, str] | None = None
    for name in names:
        value = headers.get(name)
        if value is None:
            lowered = lowered or {k.lower(): v for k, v in headers.items()}
            value = lowered.get(name)
        if value and value.strip():
            return value.strip()
    return None


def delivery_id(value: str | None, *, field: str) -> str | None:
    """A sender's delivery id as given, or a PayloadError: at most MAX_DELIVERY_ID
    characters and no control characters (it is logged, and digested into the Alert)."""
    if value is None:
        return None
    if len(value) > MAX_DELIVERY_ID:
        raise PayloadError(
            field, f"a delivery id is at most {MAX_DELIVERY_ID} characters, not {len(value)}"
        )
    if _CONTROL.search(value):
        raise PayloadError(field, "a delivery id may not hold control characters")
    return value


def check(alert: RawAlert) -> RawAlert:
    """`alert`, or a PayloadError where an identifying field is longer than any tool's (an
    asset name over MAX_ASSET, a DNS name's limit; a signal over MAX_SIGNAL) or the event
    time is not plausible (Go's zero time `0001-01-01` sent as a date: the operator's time
    arithmetic overflows near the ends of the calendar). Free text (message, labels) is cut
    to what an Alert keeps, not refused: a 4xx loses the alert."""
    if len(alert.asset.name) > MAX_ASSET:
        raise PayloadError(
            "asset", f"the asset name is {len(alert.asset.name)} characters, over {MAX_ASSET}"
        )
    if len(alert.signal) > MAX_SIGNAL:
        raise PayloadError(
            "signal", f"the alert name is {len(alert.signal)} characters, over {MAX_SIGNAL}"
        )
    if not EARLIEST <= alert.occurred_at < LATEST:
        raise PayloadError(
            "time",
            f"{alert.occurred_at.isoformat()} is not a plausible event time "
            f"({EARLIEST.year} to {LATEST.year})",
        )
    return alert


def kind(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def digest(*parts: object) -> str:
    """A sha256 hex digest of `parts` as canonical JSON: the same meaning, the same digest."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hint(
    names: Iterable[str | None], *, instance_id: str | None = None, resource_id: str | None = None
) -> AssetHint:
    """An AssetHint from what the tool called the machine, best name first: IP addresses and
    EC2 instance ids are recognised and filed as such; the first one found is the name."""
    hostnames: list[str] = []
    ips: list[str] = []
    found = [name for name in names if name]
    for name in found:
        if _is_ip(name):
            if name not in ips:
                ips.append(name)
        elif _EC2_INSTANCE.fullmatch(name):
            instance_id = instance_id or name
        elif name not in hostnames:
            hostnames.append(name)
    first = found[0] if found else (instance_id or resource_id or "unknown")
    return AssetHint(
        name=first,
        hostnames=tuple(hostnames),
        ip_addresses=tuple(ips),
        instance_id=instance_id,
        resource_id=resource_id,
    )


def _is_ip(value: str) -> bool:
    if ":" not in value and not value[-1:].isdigit():  # a host name: skip the exception
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
