"""`alerts`: what the tools sent, filtered the way a technician narrows them down."""

from __future__ import annotations

from typing import Any

from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import Column, emit
from whisperer.cli.output.timefmt import age
from whisperer.cli.session import Session

Body = dict[str, Any]


def _spec(a: Body) -> Body:
    return a.get("spec") or {}


def _status(a: Body) -> Body:
    return a.get("status") or {}


def _muted(a: Body) -> str:
    st = _status(a)
    if st.get("silencedBy"):
        return f"silenced ({st['silencedBy']})"
    if st.get("inhibitedBy"):
        return f"inhibited ({st['inhibitedBy']})"
    return ""


def run_alerts(s: Session) -> int:
    args = s.args
    rows = s.list("alerts", s.namespace())
    wanted = {
        "state": set(args.state or ["firing"]) if not args.all_states else set(),
        "severity": set(args.severity or []),
        "source": set(args.source or []),
    }
    chosen = []
    for a in rows:
        sp = _spec(a)
        if any(values and str(sp.get(key)) not in values for key, values in wanted.items()):
            continue
        if args.asset and (sp.get("asset") or {}).get("name") != args.asset:
            continue
        if args.signal and sp.get("signal") != args.signal:
            continue
        if args.incident and (_status(a).get("incidentRef") or {}).get("name") != args.incident:
            continue
        chosen.append(a)
    chosen.sort(key=lambda a: str(_spec(a).get("lastSeen")), reverse=True)
    now = s.now()
    columns = [
        Column("Name", lambda a: str(a["metadata"]["name"])),
        Column("Asset", lambda a: str((_spec(a).get("asset") or {}).get("name", ""))),
        Column("Signal", lambda a: str(_spec(a).get("signal", ""))),
        Column("Severity", lambda a: str(_spec(a).get("severity", ""))),
        Column("State", lambda a: str(_spec(a).get("state", ""))),
        Column("Source", lambda a: str(_spec(a).get("source", ""))),
        Column("Incident", lambda a: str((_status(a).get("incidentRef") or {}).get("name") or "")),
        Column("Last Seen", lambda a: age(_spec(a).get("lastSeen"), now)),
        Column("Namespace", lambda a: str(a["metadata"].get("namespace", "")), wide=True),
        Column("Occurrences", lambda a: str(_spec(a).get("occurrences", 1)), wide=True),
        Column("Muted", _muted, wide=True),
        Column("Message", lambda a: str(_spec(a).get("message", ""))[:60], wide=True),
    ]
    emit(
        chosen,
        output=args.output,
        columns=columns,
        raw=lambda a: a,
        name=lambda a: f"alert.alertwhisperer.io/{a['metadata']['name']}",
        empty="No alerts found.",
    )
    return 0


def register(sub: Subparsers) -> None:
    p = command(sub, "alerts", run_alerts, "list alerts (firing ones unless --state says)")
    scope(p)
    p.add_argument("--state", action="append", choices=("firing", "resolved"), help="(repeat)")
    p.add_argument("--all-states", action="store_true", help="firing and resolved")
    p.add_argument("--severity", action="append", metavar="SEVERITY", help="(repeat)")
    p.add_argument("--source", action="append", metavar="TOOL", help="alertmanager, ... (repeat)")
    p.add_argument("--asset", help="only this asset's")
    p.add_argument("--signal", help="only this signal")
    p.add_argument("--incident", metavar="INCIDENT", help="only the alerts of this incident")
