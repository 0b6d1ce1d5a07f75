"""What the plugin reads from an Incident body: defensive about fields it does not know
(the status grows; an older or newer operator may write more or less)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whisperer.cli.output import Column, paint
from whisperer.cli.output.timefmt import age, countdown, parse_time
from whisperer.operator.services.tenancy import company_of_namespace

Body = dict[str, Any]
PRIORITY_RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3, "P5": 4}


def status(body: Body) -> Body:
    return body.get("status") or {}


def spec(body: Body) -> Body:
    return body.get("spec") or {}


def sla(body: Body) -> Body:
    value = status(body).get("sla")
    return value if isinstance(value, dict) else {}


def name(body: Body) -> str:
    return str(body["metadata"]["name"])


def company(body: Body) -> str:
    return str(
        status(body).get("company") or company_of_namespace(body["metadata"].get("namespace")) or ""
    )


def open_wait(body: Body) -> Body | None:
    """The customer wait that has not been resumed, if any."""
    for wait in spec(body).get("customerWaits") or []:
        if not wait.get("resumedAt"):
            return dict(wait)
    return None


def state(body: Body) -> str:
    """Open, Acknowledged, Resolved, or Waiting (on the customer)."""
    phase = str(status(body).get("phase") or "Open")
    if phase != "Resolved" and (open_wait(body) or sla(body).get("pausedSince")):
        return "Waiting"
    return phase


def assets(body: Body) -> list[str]:
    alerts = status(body).get("alerts") or {}
    found: list[str] = []
    cause = (status(body).get("rootCause") or {}).get("asset")
    for asset in [cause, *[r.get("asset") for r in alerts.get("refs") or []]]:
        if asset and asset not in found:
            found.append(asset)
    return found


def sla_text(body: Body, now: datetime) -> str:
    """The countdown a technician needs: to the next deadline, or how late it is; paused
    while waiting on the customer; the outcome once resolved."""
    clocks = sla(body)
    if not clocks:
        return ""
    if state(body) == "Resolved":
        outcome = clocks.get("resolutionOutcome") or (
            "breached" if clocks.get("resolutionBreached") else ""
        )
        return str(outcome)
    if clocks.get("pausedSince") or open_wait(body):
        return "paused"
    due = clocks.get("nextDueAt") or (
        clocks.get("resolutionDueAt") if clocks.get("respondedAt") else clocks.get("responseDueAt")
    )
    text = countdown(due, now)
    if text.startswith("BREACHED"):
        return paint(text, "red")
    when = parse_time(due)
    if when is not None and (when - now).total_seconds() < 1800:
        return paint(text, "yellow")
    return text


def priority_text(body: Body) -> str:
    value = str(status(body).get("priority") or "")
    return paint(value, "red") if value == "P1" else value


def columns(now: datetime) -> list[Column]:
    """The incident table: what a technician needs, then what `-o wide` adds."""
    return [
        Column("Priority", priority_text),
        Column("Company", company),
        Column("Name", name),
        Column("Title", lambda b: _clip(str(spec(b).get("title") or ""), 48)),
        Column("Assets", lambda b: _clip(",".join(assets(b)), 32)),
        Column("State", state),
        Column("Assignee", lambda b: str(status(b).get("assignee") or "")),
        Column("SLA", lambda b: sla_text(b, now)),
        Column("Age", lambda b: age(status(b).get("openedAt") or _created(b), now)),
        Column("Namespace", lambda b: str(b["metadata"].get("namespace") or ""), wide=True),
        Column("Severity", lambda b: str(status(b).get("severity") or ""), wide=True),
        Column("Alerts", lambda b: str((status(b).get("alerts") or {}).get("count", 0)), wide=True),
        Column("Pattern", lambda b: str(status(b).get("pattern") or ""), wide=True),
        Column("Escalation", lambda b: str(status(b).get("escalationLevel") or 0), wide=True),
        Column(
            "Acknowledged By",
            lambda b: str((spec(b).get("acknowledgement") or {}).get("by") or ""),
            wide=True,
        ),
    ]


def _created(body: Body) -> Any:
    return body["metadata"].get("creationTimestamp")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def sort_key(order: str, now: datetime) -> Any:
    """priority: P1 first, then the nearest deadline; sla: the nearest deadline first;
    age: the oldest first."""
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def due(body: Body) -> datetime:
        return parse_time(sla(body).get("nextDueAt")) or far

    def opened(body: Body) -> datetime:
        return parse_time(status(body).get("openedAt") or _created(body)) or far

    if order == "sla":
        return lambda b: (due(b), name(b))
    if order == "age":
        return lambda b: (opened(b), name(b))
    return lambda b: (PRIORITY_RANK.get(str(status(b).get("priority")), 9), due(b), name(b))
