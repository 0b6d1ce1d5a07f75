"""Zabbix webhook media type deliveries (macro-expanded parameters) as a RawAlert.

The media type script posts its parameters as a JSON object of strings (numbers are
accepted too). Names are matched case-insensitively, and macro-like spellings are
accepted for the same parameter: `event_id`, `EVENT_ID`, `EVENT.ID` and `{EVENT.ID}` are
one name. What we read:

    event_id              {EVENT.ID}: the key (the same in problem, update, recovery)
    event_value           {EVENT.VALUE}: 1 problem (firing), 0 recovery (resolved)
    event_update_status   {EVENT.UPDATE.STATUS}: 1 is an acknowledgement or comment: Ignored
    event_source          {EVENT.SOURCE}: when present, anything but 0 (trigger) is Ignored
    event_nseverity       {EVENT.NSEVERITY}: 0..5; else event_severity ({EVENT.SEVERITY})
    trigger_name          {TRIGGER.NAME}, else event_name ({EVENT.NAME}): the signal
    host_name, host_host, host_ip   {HOST.NAME}, {HOST.HOST}, {HOST.IP}
    event_date, event_time          {EVENT.DATE} {EVENT.TIME}: "2026.11.27" "10:04:05"
    event_recovery_date, event_recovery_time   used for a recovery
    timezone              optional: the Zabbix server's offset (+02:00) or IANA zone;
                          Zabbix dates carry none, so UTC is assumed without it
    message               {ALERT.MESSAGE} (or alert_message)
    trigger_id, event_tags, event_recovery_id, event_opdata   kept as labels

A macro that does not apply arrives as its own literal text ("{EVENT.RECOVERY.ID}"), and
one Zabbix cannot resolve as "*UNKNOWN*": both count as absent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from whisperer.api.formats import severity
from whisperer.api.formats.base import (
    ROOT,
    Ignored,
    Parsed,
    PayloadError,
    RawAlert,
    State,
    as_object,
    digest,
    hint,
    kind,
)

LABEL_PARAMETERS = (
    "event_id",
    "trigger_id",
    "event_severity",
    "event_tags",
    "event_recovery_id",
    "event_opdata",
    "host_host",
    "host_ip",
)
HOST_PARAMETERS = ("host_name", "host_host", "host_ip")
READ = frozenset(
    {*LABEL_PARAMETERS, *HOST_PARAMETERS, "event_value", "event_update_status", "event_source"}
    | {"event_nseverity", "trigger_name", "event_name", "message", "alert_message", "timezone"}
    | {"event_date", "event_time", "event_recovery_date", "event_recovery_time"}
)
_LITERAL_MACRO = re.compile(r"\{[A-Z0-9._]+\}")
_UNRESOLVED = "*UNKNOWN*"
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})")


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """The alert of one Zabbix webhook delivery."""
    params = _parameters(as_object(payload, field=ROOT))
    event_id = _required(params, "event_id")
    if params.get("event_update_status") == "1":
        raise Ignored("a Zabbix acknowledgement or comment, not a new problem")
    if params.get("event_source", "0") != "0":
        raise Ignored("not a Zabbix trigger event")
    state = _state(params)
    alert = RawAlert(
        source="zabbix",
        asset=hint([params.get(k) for k in HOST_PARAMETERS]),
        signal=params.get("trigger_name") or _required(params, "event_name", alias="trigger_name"),
        severity=severity.from_zabbix(params.get("event_nseverity"))
        or severity.from_label(params.get("event_severity")),
        state=state,
        occurred_at=_occurred_at(params, state=state),
        message=params.get("message") or params.get("alert_message") or "",
        labels={k: params[k] for k in LABEL_PARAMETERS if k in params},
        key=event_id,
    )
    return Parsed(alerts=(alert,), content_key=digest(payload))


def _parameters(body: Mapping[str, Any]) -> dict[str, str]:
    """Names folded to lower snake case, values as stripped strings, non-values dropped.
    A parameter we do not read may hold anything (a script's extras); one we read may not."""
    params: dict[str, str] = {}
    for raw_name, raw in body.items():
        name = re.sub(r"[^a-z0-9]+", "_", raw_name.strip("{} ").lower()).strip("_")
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            if name in READ:
                raise PayloadError(raw_name, f"must be a string, not {kind(raw)}")
            continue
        value = str(raw).strip()
        if value and value != _UNRESOLVED and not _LITERAL_MACRO.fullmatch(value):
            params.setdefault(name, value)
    return params


def _required(params: Mapping[str, str], name: str, *, alias: str | None = None) -> str:
    if name not in params:
        raise PayloadError(alias or name, "is required")
    return params[name]


def _state(params: Mapping[str, str]) -> State:
    value = _required(params, "event_value")
    if value == "1":
        return "firing"
    if value == "0":
        return "resolved"
    raise PayloadError("event_value", "must be 1 (problem) or 0 (recovery)")


def _occurred_at(params: Mapping[str, str], *, state: State) -> datetime:
    zone = _zone(params.get("timezone"))
    if state == "resolved" and "event_recovery_date" in params:
        return _moment(params, prefix="event_recovery", zone=zone)
    if "event_date" in params:
        return _moment(params, prefix="event", zone=zone)
    return datetime.now(UTC)


def _moment(params: Mapping[str, str], *, prefix: str, zone: tzinfo) -> datetime:
    """`2026.11.27` + `10:04:05` in the server's zone, as UTC."""
    date, time = params[f"{prefix}_date"], params.get(f"{prefix}_time", "00:00:00")
    try:
        local = datetime.strptime(f"{date} {time}", "%Y.%m.%d %H:%M:%S")
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        problem = f"is not a Zabbix date and time: {date[:40]!r} {time[:20]!r}"
        raise PayloadError(f"{prefix}_date", problem) from None


def _zone(name: str | None) -> tzinfo:
    if name is None:
        return UTC
    offset = _OFFSET.fullmatch(name)
    if offset:
        minutes = int(offset["hours"]) * 60 + int(offset["minutes"])
        if minutes < 24 * 60:
            return timezone(timedelta(minutes=-minutes if offset["sign"] == "-" else minutes))
    # Only names the system knows reach ZoneInfo: an unknown one would send it searching the
    # tzdata package by import, which a sender's junk has no business triggering.
    if name not in _known_zones():
        raise PayloadError("timezone", f"unknown time zone {name[:40]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PayloadError("timezone", f"unknown time zone {name[:40]!r}") from None


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())
