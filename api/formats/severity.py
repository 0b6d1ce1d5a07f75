"""Each tool's words for how bad and when, mapped onto our five severities and aware UTC times.

Tools never fail on severity: an unknown word is `medium` (DEFAULT). Our own generic format
is stricter and uses `alias`, which says None for an unknown word.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from whisperer.api.formats.base import PayloadError, Severity

DEFAULT: Severity = "medium"

_ALIASES: dict[str, Severity] = {
    **dict.fromkeys(["critical", "crit", "page", "emergency", "disaster", "p1"], "critical"),
    **dict.fromkeys(["high", "error", "major", "p2"], "high"),
    **dict.fromkeys(["warning", "warn", "medium", "average", "moderate", "p3"], "medium"),
    **dict.fromkeys(["low", "minor", "p4"], "low"),
    **dict.fromkeys(
        ["info", "informational", "information", "notice", "ok", "none", "p5", "not classified"],
        "info",
    ),
}
_DATADOG_TYPES: dict[str, Severity] = {"error": "high", "warning": "medium", "info": "info"}
_ZABBIX: dict[str, Severity] = {
    "5": "critical",
    "4": "high",
    "3": "medium",
    "2": "low",
    "1": "info",
    "0": "info",
}
_PAGERDUTY: dict[str, Severity] = {
    "critical": "critical",
    "error": "high",
    "warning": "medium",
    "info": "info",
}
_AZURE: dict[str, Severity] = {
    "sev0": "critical",
    "sev1": "high",
    "sev2": "medium",
    "sev3": "low",
    "sev4": "info",
}


def alias(value: str | None) -> Severity | None:
    """One of our severities for a free-text word (case-insensitive), None if unknown."""
    if value is None:
        return None
    return _ALIASES.get(" ".join(value.lower().split()))


def from_label(value: str | None) -> Severity:
    """A free-text severity label (Alertmanager `severity`, a `severity=` tag...)."""
    return alias(value) or DEFAULT


def from_datadog(*, priority: str | None, alert_type: str | None) -> Severity:
    """Datadog: the monitor priority P1..P5 wins, then the alert type (error, warning, info;
    `success` is a recovery and says nothing about severity)."""
    if priority and re.fullmatch(r"[pP][1-5]", priority.strip()):
        return _ALIASES[priority.strip().lower()]
    return _DATADOG_TYPES.get((alert_type or "").strip().lower(), DEFAULT)


def from_zabbix(nseverity: str | None) -> Severity | None:
    """Zabbix {EVENT.NSEVERITY} 0..5 (Not classified .. Disaster), None if not one of those."""
    return _ZABBIX.get((nseverity or "").strip())


def from_pagerduty(value: str | None) -> Severity | None:
    """PagerDuty Events v2 `payload.severity`, None if not critical/error/warning/info."""
    return _PAGERDUTY.get(value or "")


def from_azure(value: str | None) -> Severity:
    """Azure Monitor Sev0 (critical) .. Sev4 (verbose, our info)."""
    return _AZURE.get((value or "").strip().lower(), DEFAULT)


# Times. RFC 3339 with `Z` or an offset, CloudWatch's offset without a colon (+0000), or
# epoch seconds or milliseconds as a number or a numeric string (Datadog).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MILLIS_FROM = 1e11  # as seconds that is the year 5138; as milliseconds, 1973


def parse_time(value: object, *, field: str) -> datetime:
    """An aware UTC datetime from what a tool sent, or a PayloadError naming `field`."""
    if isinstance(value, bool) or value is None:
        raise PayloadError(field, "must be a time (RFC 3339 or epoch seconds/milliseconds)")
    if isinstance(value, int | float):
        return _from_epoch(float(value), field=field)
    if not isinstance(value, str):
        raise PayloadError(field, "must be a time (RFC 3339 or epoch seconds/milliseconds)")
    raw = value.strip()
    if _NUMBER.fullmatch(raw):
        return _from_epoch(float(raw), field=field)
    if not _RFC3339.fullmatch(raw):
        raise PayloadError(field, f"is not an RFC 3339 time with an offset: {raw[:40]!r}")
    try:
        return datetime.fromisoformat(raw.upper()).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PayloadError(field, f"is not a valid time: {exc}") from None


def is_unset(moment: datetime) -> bool:
    """Go's zero time (0001-01-01T00:00:00Z), which Alertmanager sends for "not yet"."""
    return moment.year == 1


def _from_epoch(seconds: float, *, field: str) -> datetime:
    if not math.isfinite(seconds) or seconds < 0:
        raise PayloadError(field, "must be a non-negative epoch time")
    if seconds >= _MILLIS_FROM:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise PayloadError(field, "is out of range") from None
