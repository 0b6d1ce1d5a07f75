"""`show INCIDENT`: everything about one incident on one screen: clocks, alerts, analysis,
the runbooks that fit (with the command to run each), runs and the timeline."""

from __future__ import annotations

from typing import Any

from whisperer.cli import incident_view as view
from whisperer.cli.commands.runbooks import fitting_runbooks
from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import Column, emit_one, paint, pairs, table
from whisperer.cli.output.timefmt import age, countdown
from whisperer.cli.session import Session

Body = dict[str, Any]


def _clocks(incident: Body, now: Any) -> list[tuple[str, str]]:
    clocks = view.sla(incident)
    rows: list[tuple[str, str]] = []
    for key, label in (
        ("responseDueAt", "respond by"),
        ("resolutionDueAt", "resolve by"),
        ("nextDueAt", "next due"),
        ("respondedAt", "responded"),
        ("resolvedAt", "resolved"),
        ("pausedSince", "paused since"),
    ):
        if clocks.get(key):
            extra = f"  ({countdown(clocks[key], now)})" if key.endswith("DueAt") else ""
            rows.append((label, f"{clocks[key]}{extra}"))
    for key in ("responseOutcome", "resolutionOutcome"):
        if clocks.get(key):
            margin = clocks.get(key.replace("Outcome", "MarginMinutes"))
            rows.append((key.replace("Outcome", " outcome"), f"{clocks[key]} ({margin} min)"))
    if clocks.get("pausedMinutes"):
        rows.append(("paused", f"{clocks['pausedMinutes']} min"))
    for key in ("responseBreached", "resolutionBreached"):
        if clocks.get(key):
            rows.append((key.replace("Breached", " breached"), paint("yes", "red")))
    if clocks.get("escalatedAt") or view.status(incident).get("escalationLevel"):
        rows.append(("escalation level", str(view.status(incident).get("escalationLevel", 0))))
    return rows


def text(s: Session, incident: Body, runbooks: list[Body]) -> str:
    now = s.now()
    st, sp = view.status(incident), view.spec(incident)
    cause = st.get("rootCause") or {}
    head = [
        ("name", view.name(incident)),
        ("company", view.company(incident)),
        ("title", str(sp.get("title") or "")),
        ("state", view.state(incident)),
        (
            "priority",
            f"{st.get('priority') or ''} (severity {st.get('severity') or '?'}, "
            f"score {st.get('score', '?')})",
        ),
        ("pattern", str(st.get("pattern") or "")),
        ("assignee", str(st.get("assignee") or "nobody")),
        ("opened", f"{st.get('openedAt') or ''} ({age(st.get('openedAt'), now)} ago)"),
        ("sla", view.sla_text(incident, now)),
        (
            "cause",
            f"{cause.get('asset', '')} {cause.get('signal', '')} "
            f"({cause.get('decidedBy', 'rules')})",
        ),
    ]
    parts = [pairs(head)]
    clocks = _clocks(incident, now)
    if clocks:
        parts.append("SLA clocks:\n" + _indent(pairs(clocks)))
    alerts = st.get("alerts") or {}
    refs = alerts.get("refs") or []
    parts.append(f"Alerts ({alerts.get('count', 0)}, {alerts.get('firing', 0)} firing):")
    if refs:
        parts.append(
            _indent(
                table(
                    refs,
                    [
                        Column("Name", lambda r: str(r.get("name", ""))),
                        Column("Asset", lambda r: str(r.get("asset", ""))),
                        Column("Signal", lambda r: str(r.get("signal", ""))),
                        Column("Source", lambda r: str(r.get("source", ""))),
                        Column("Muted", lambda r: "yes" if r.get("muted") else ""),
                    ],
                    wide=False,
                )
            )
        )
    analysis = st.get("analysis")
    if analysis:
        lines = [
            ("summary", str(analysis.get("summary") or analysis.get("error") or "")),
            ("suggested severity", str(analysis.get("suggestedSeverity") or "")),
            ("confidence", str(analysis.get("confidence") or "")),
            ("applied", "yes" if analysis.get("appliedSeverity") else "no"),
        ]
        parts.append(f"Analysis ({analysis.get('model', '')}):\n" + _indent(pairs(lines)))
    if runbooks:
        ns = incident["metadata"]["namespace"]
        rows = [
            (
                rb,
                f"kubectl whisper run {rb['metadata']['name']} "
                f"--incident {view.name(incident)} -n {ns}",
            )
            for rb in runbooks
        ]
        parts.append(
            "Suggested runbooks:\n"
            + _indent(
                table(
                    rows,
                    [
                        Column("Runbook", lambda r: str(r[0]["metadata"]["name"])),
                        Column("Risk", lambda r: str(r[0]["spec"].get("risk", ""))),
                        Column("Title", lambda r: str(r[0]["spec"].get("title", ""))),
                        Column("Command", lambda r: str(r[1])),
                    ],
                    wide=False,
                )
            )
        )
    runs = st.get("runs") or []
    if runs:
        parts.append(
            "Runs:\n"
            + _indent(
                table(
                    runs,
                    [
                        Column("Name", lambda r: str(r.get("name", ""))),
                        Column("Runbook", lambda r: str(r.get("runbook", ""))),
                        Column("Requested By", lambda r: str(r.get("requestedBy", ""))),
                        Column("Phase", lambda r: str(r.get("phase", ""))),
                        Column("Outcome", lambda r: str(r.get("outcome") or "")),
                    ],
                    wide=False,
                )
            )
        )
    timeline = st.get("timeline") or []
    if timeline:
        parts.append(
            "Timeline:\n"
            + _indent(
                table(
                    timeline,
                    [
                        Column("At", lambda e: str(e.get("at", ""))),
                        Column("Type", lambda e: str(e.get("type", ""))),
                        Column("Actor", lambda e: str(e.get("actor", ""))),
                        Column("Message", lambda e: str(e.get("message", ""))[:100]),
                    ],
                    wide=False,
                )
            )
        )
    if sp.get("notes"):
        parts.append(
            "Notes:\n"
            + _indent(
                "\n".join(f"{n.get('at')}  {n.get('author')}: {n.get('text')}" for n in sp["notes"])
            )
        )
    return "\n\n".join(parts)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def show(s: Session) -> int:
    ns = s.need_namespace("show")
    incident = s.get("incidents", s.args.incident, ns)
    runbooks = fitting_runbooks(s, incident, quiet=True)
    emit_one(
        incident,
        output=s.args.output,
        text=lambda: text(s, incident, runbooks),
        name=f"incident.alertwhisperer.io/{view.name(incident)}",
    )
    return 0


def register(sub: Subparsers) -> None:
    p = command(sub, "show", show, "everything about one incident")
    scope(p, all_namespaces=False)
    p.add_argument("incident", metavar="INCIDENT", help="the incident's name")
