"""`runbooks [--for INCIDENT]`: the company's and the platform library's runbooks (those
that fit an incident), their risk, and who may approve a run of each."""

from __future__ import annotations

from typing import Any

from whisperer.cli import incident_view as view
from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import Column, emit
from whisperer.cli.session import Session, UsageError
from whisperer.operator.errors import ForbiddenError, NotFoundError, WhispererError
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

Body = dict[str, Any]
WHO_APPROVES = {
    "low": "company admins, MSP admins (runs by itself where the company allows)",
    "medium": "MSP admins; company admins where the company allows",
    "high": "MSP admins",
}


def _runbooks_in(s: Session, ns: str | None, *, quiet: bool = False) -> list[Body]:
    """The runbooks of `ns` and of the platform library; a refusal to read `ns`'s is said
    in one line (or, `quiet`, skipped: `show` for someone who may not read runbooks)."""
    found: list[Body] = []
    spaces = [ns, PLATFORM_NAMESPACE] if ns and ns != PLATFORM_NAMESPACE else [ns]
    for space in spaces:
        try:
            found += s.kube.list("runbooks", space)
        except ForbiddenError:
            if space == ns and not quiet:
                s.list("runbooks", space)  # the one-line refusal
        except NotFoundError:
            continue
    return found


def fits(runbook: Body, incident: Body) -> bool:
    """Whether the runbook's `matches` fit the incident's cause signal and severity."""
    st = view.status(incident)
    signal = (st.get("rootCause") or {}).get("signal") or (
        (st.get("alerts") or {}).get("first") or {}
    ).get("signal")
    matches = (runbook.get("spec") or {}).get("matches") or {}
    severities = matches.get("severities") or []
    return bool(signal and signal in (matches.get("signals") or [])) and (
        not severities or st.get("severity") in severities
    )


def fitting_runbooks(s: Session, incident: Body, *, quiet: bool = False) -> list[Body]:
    """The company's and the platform library's runbooks that fit the incident (those the
    caller may read)."""
    return [
        rb
        for rb in _runbooks_in(s, incident["metadata"]["namespace"], quiet=quiet)
        if fits(rb, incident)
    ]


def _may_approve(s: Session, ns: str | None, risk: str) -> str:
    if not ns or not risk:
        return ""
    try:
        return "yes" if s.kube.can_i("approve", "risklevels", ns, risk) else "no"
    except WhispererError:
        return "?"


def run_runbooks(s: Session) -> int:
    ns = s.namespace(default_all=False)
    if s.args.for_incident:
        if ns is None or ns == PLATFORM_NAMESPACE:
            raise UsageError("runbooks --for: name the incident's company with --company or -n")
        incident = s.get("incidents", s.args.for_incident, ns)
        rows = fitting_runbooks(s, incident)
    else:
        rows = _runbooks_in(s, ns)
    columns = [
        Column("Name", lambda r: str(r["metadata"]["name"])),
        Column("Namespace", lambda r: str(r["metadata"].get("namespace", ""))),
        Column("Risk", lambda r: str(r["spec"].get("risk", ""))),
        Column("Platform", lambda r: str(r["spec"].get("platform", ""))),
        Column("Title", lambda r: str(r["spec"].get("title", ""))),
        Column("Approved By", lambda r: WHO_APPROVES.get(str(r["spec"].get("risk")), "")),
        Column(
            "You May Approve", lambda r: _may_approve(s, ns, str(r["spec"].get("risk"))), wide=True
        ),
        Column(
            "Signals",
            lambda r: ",".join((r["spec"].get("matches") or {}).get("signals") or []),
            wide=True,
        ),
    ]
    emit(
        rows,
        output=s.args.output,
        columns=columns,
        raw=lambda r: r,
        name=lambda r: f"runbook.alertwhisperer.io/{r['metadata']['name']}",
        empty="No runbooks found.",
    )
    return 0


def register(sub: Subparsers) -> None:
    p = command(
        sub,
        "runbooks",
        run_runbooks,
        "list runbooks (those that fit an incident with --for), their risk and who may approve",
    )
    scope(p, all_namespaces=False)
    p.add_argument(
        "--for", dest="for_incident", metavar="INCIDENT", help="only those that fit this incident"
    )
