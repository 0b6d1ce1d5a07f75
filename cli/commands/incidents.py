"""`incidents` (alias `inc`): the technician's queue, filtered, sorted, and watched live."""

from __future__ import annotations

import os
import sys
from typing import Any

from whisperer.cli import incident_view as view
from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import emit, table
from whisperer.cli.session import Session, UsageError
from whisperer.operator.errors import ForbiddenError

Body = dict[str, Any]
STATES = ("open", "acknowledged", "waiting", "resolved")


def my_technicians(s: Session) -> set[str] | None:
    """The Technician names the caller is (by spec.username), plus --me or
    $WHISPERER_TECHNICIAN; None when the directory is not readable and nobody is named."""
    if "technicians" in s.memo:
        return s.memo["technicians"]  # type: ignore[no-any-return]
    s.memo["technicians"] = found = _my_technicians(s)
    return found


def _my_technicians(s: Session) -> set[str] | None:
    named = {n for n in (getattr(s.args, "me", None), os.environ.get("WHISPERER_TECHNICIAN")) if n}
    try:
        directory = s.kube.list("technicians")
    except ForbiddenError:
        return named or None
    user = s.user()
    return named | {
        t["metadata"]["name"] for t in directory if (t.get("spec") or {}).get("username") == user
    }


def is_mine(body: Body, user: str, names: set[str]) -> bool:
    st, sp = view.status(body), view.spec(body)
    return (
        st.get("assignee") in names
        or (sp.get("acknowledgement") or {}).get("by") == user
        or sp.get("assignee") in names
    )


def select(s: Session, bodies: list[Body]) -> list[Body]:
    """The incidents the flags ask for."""
    args = s.args
    states = {x.lower() for x in args.state or []}
    if bad := states - set(STATES):
        raise UsageError(f"--state: unknown {sorted(bad)}; one of {', '.join(STATES)}")
    if not states:
        states = {"open", "acknowledged", "waiting"}
    severities = {x.lower() for x in args.severity or []}
    mine: tuple[str, set[str]] | None = None
    if not args.all:
        names = my_technicians(s)
        if args.mine or names:
            mine = (s.user(), names or set())
    chosen = []
    for body in bodies:
        if view.state(body).lower() not in states:
            continue
        if severities and str(view.status(body).get("severity") or "").lower() not in severities:
            continue
        if mine is not None and not is_mine(body, *mine):
            continue
        chosen.append(body)
    return sorted(chosen, key=view.sort_key(args.sort, s.now()))


def run_list(s: Session) -> int:
    ns = s.namespace()
    if s.args.watch:
        return _watch(s, ns)
    rows = select(s, s.list("incidents", ns))
    emit(
        rows,
        output=s.args.output,
        columns=view.columns(s.now()),
        raw=lambda b: b,
        name=lambda b: f"incident.alertwhisperer.io/{view.name(b)}",
        empty="No incidents found." + ("" if s.args.all else " (--all for everyone's)"),
    )
    return 0


def _watch(s: Session, ns: str | None) -> int:
    """The table, then one line per change as it happens (kubectl get --watch)."""
    items, version = s.kube.list_with_version("incidents", ns) if ns else _list_all(s)
    rows = select(s, items)
    output = s.args.output
    columns = view.columns(s.now())
    if output in ("json", "yaml", "name"):
        for body in rows:
            _print_event(s, "ADDED", body)
    else:
        print(table(rows, columns, wide=output == "wide"), flush=True)
    shown = {view.name(b) for b in rows}
    for kind, body in s.watch("incidents", ns, version):
        if kind == "ERROR":
            print(f"error: watch ended: {body.get('message', body)}", file=sys.stderr)
            return 1
        # A change that takes an incident out of the view (resolved, say) is news too.
        if select(s, [body]) or view.name(body) in shown:
            shown.add(view.name(body))
            _print_event(s, kind, body)
    return 0


def _list_all(s: Session) -> tuple[list[Body], str]:
    try:
        return s.kube.list_with_version("incidents", None)
    except ForbiddenError:
        s.list("incidents", None)  # raises the one-line refusal with its hint
        raise


def _print_event(s: Session, kind: str, body: Body) -> None:
    output = s.args.output
    if output == "json":
        import json

        print(json.dumps({"type": kind, "object": body}, sort_keys=True), flush=True)
    elif output == "yaml":
        import yaml

        print(
            "---\n" + yaml.safe_dump({"type": kind, "object": body}, sort_keys=True),
            end="",
            flush=True,
        )
    elif output == "name":
        print(f"incident.alertwhisperer.io/{view.name(body)}", flush=True)
    else:
        line = table([body], view.columns(s.now()), wide=output == "wide").splitlines()[-1]
        suffix = "   (deleted)" if kind == "DELETED" else ""
        print(line + suffix, flush=True)


def register(sub: Subparsers) -> None:
    p = command(
        sub,
        "incidents",
        run_list,
        "list incidents: yours by default, with their SLA countdown",
        aliases=("inc",),
        description="List incidents. A technician sees their own (assigned to them or "
        "acknowledged by them) unless --all; open, acknowledged and waiting ones unless "
        "--state says otherwise.",
    )
    scope(p)
    p.add_argument("--all", action="store_true", help="everyone's incidents, not only yours")
    p.add_argument("--mine", action="store_true", help="only yours (assigned or acknowledged)")
    p.add_argument("--me", metavar="TECHNICIAN", help="the Technician you are (if not found)")
    p.add_argument(
        "--severity", action="append", metavar="SEVERITY", help="critical|high|medium|low (repeat)"
    )
    p.add_argument("--state", action="append", metavar="STATE", help="|".join(STATES) + " (repeat)")
    p.add_argument(
        "--sort", choices=("priority", "sla", "age"), default="priority", help="row order"
    )
    p.add_argument("-w", "--watch", action="store_true", help="stream changes as they happen")
