"""Runs of runbooks: `run` requests a RunbookExecution in the caller's own name (and can
follow it to its end); `runs`, `approve`, `reject`, `logs`."""

from __future__ import annotations

import sys
import time
from typing import Any

from whisperer.cli import incident_view as view
from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import Column, emit, emit_one, paint, pairs
from whisperer.cli.output.timefmt import age
from whisperer.cli.session import Session, UsageError
from whisperer.operator.errors import WhispererError
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

Body = dict[str, Any]
DONE = {"Succeeded", "Failed", "Rejected", "TimedOut", "Cancelled"}


def _parameters(items: list[str]) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item!r}: expected KEY=VALUE")
        found[key] = value
    return found


def run_run(s: Session) -> int:
    ns = s.need_namespace("run")
    args = s.args
    if bool(args.incident) == bool(args.target):
        raise UsageError("run: give --incident INCIDENT or --target ASSET (one of them)")
    targets = list(args.target or [])
    incident_ref = None
    if args.incident:
        incident = s.get("incidents", args.incident, ns)
        incident_ref = {"name": args.incident}
        cause = (view.status(incident).get("rootCause") or {}).get("asset")
        targets = [cause] if cause else view.assets(incident)[:1]
        if not targets:
            raise WhispererError(f"{args.incident} names no asset to run on; use --target")
    runbook_ns = ns if s.exists("runbooks", args.runbook, ns) else PLATFORM_NAMESPACE
    spec: Body = {
        "runbookRef": {"name": args.runbook, "namespace": runbook_ns},
        "targets": targets,
        "requestedBy": s.user(),
        "reason": args.reason or (f"for incident {args.incident}" if args.incident else ""),
    }
    if incident_ref:
        spec["incidentRef"] = incident_ref
    if args.param:
        spec["parameters"] = _parameters(args.param)
    body = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "RunbookExecution",
        "metadata": {"generateName": f"{args.runbook[:40]}-", "namespace": ns},
        "spec": spec,
    }
    created = s.create("runbookexecutions", body, ns)
    name = created["metadata"]["name"]
    if not args.wait:
        emit_one(
            created,
            output=args.output,
            text=lambda: f"runbookexecution.alertwhisperer.io/{name} created",
            name=f"runbookexecution.alertwhisperer.io/{name}",
        )
        return 0
    print(f"runbookexecution.alertwhisperer.io/{name} created", file=sys.stderr)
    return follow(s, name, ns, timeout=args.timeout)


def follow(s: Session, name: str, ns: str, *, timeout: float) -> int:
    """Print each phase the run goes through; at the end, each target's output. Exit 0
    when it succeeded, 1 otherwise."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        run = s.get("runbookexecutions", name, ns)
        phase = str((run.get("status") or {}).get("phase") or "Pending")
        if phase != seen:
            seen = phase
            hint = ""
            if phase == "AwaitingApproval":
                hint = f"  (approve: kubectl whisper approve {name} -n {ns})"
            print(f"phase: {phase}{hint}", flush=True)
        if phase in DONE:
            print(logs_text(run))
            return 0 if phase == "Succeeded" else 1
        if time.monotonic() > deadline:
            print(f"error: {name} still {phase} after {timeout:.0f}s", file=sys.stderr)
            return 1
        time.sleep(1)


def logs_text(run: Body) -> str:
    results = (run.get("status") or {}).get("results") or []
    if not results:
        return "(no output)"
    parts = []
    for r in results:
        code = r.get("exitCode")
        head = f"== {r.get('target')} ({r.get('status')}" + (
            f", exit {code})" if code is not None else ")"
        )
        parts.append(f"{head} ==\n{r.get('output') or ''}".rstrip())
    return "\n".join(parts)


def _phase(run: Body) -> str:
    phase = str((run.get("status") or {}).get("phase") or "Pending")
    colour = {
        "Failed": "red",
        "TimedOut": "red",
        "Succeeded": "green",
        "AwaitingApproval": "yellow",
    }
    return paint(phase, colour.get(phase, "")) if phase in colour else phase


def run_runs(s: Session) -> int:
    ns = s.namespace()
    rows = s.list("runbookexecutions", ns)
    if s.args.incident:
        rows = [
            r for r in rows if ((r["spec"].get("incidentRef") or {}).get("name")) == s.args.incident
        ]
    rows.sort(key=lambda r: str(r["metadata"].get("creationTimestamp")), reverse=True)
    now = s.now()
    columns = [
        Column("Name", lambda r: str(r["metadata"]["name"])),
        Column("Runbook", lambda r: str(r["spec"]["runbookRef"]["name"])),
        Column("Incident", lambda r: str((r["spec"].get("incidentRef") or {}).get("name") or "")),
        Column("Targets", lambda r: ",".join(r["spec"].get("targets") or [])),
        Column("Risk", lambda r: str((r.get("status") or {}).get("risk") or "")),
        Column("Phase", _phase),
        Column("Requested By", lambda r: str(r["spec"].get("requestedBy", ""))),
        Column("Age", lambda r: age(r["metadata"].get("creationTimestamp"), now)),
        Column("Namespace", lambda r: str(r["metadata"].get("namespace", "")), wide=True),
        Column(
            "Decided By",
            lambda r: str((r["spec"].get("approval") or {}).get("by") or ""),
            wide=True,
        ),
    ]
    emit(
        rows,
        output=s.args.output,
        columns=columns,
        raw=lambda r: r,
        name=lambda r: f"runbookexecution.alertwhisperer.io/{r['metadata']['name']}",
        empty="No runs found.",
    )
    return 0


def _decide(s: Session, decision: str) -> int:
    ns = s.need_namespace(decision.lower())
    user = s.user()
    # Admission checks they are the caller's; the operator asks RBAC with them before it
    # dispatches, so an MSP admin who may approve through a group is recognised.
    groups = s.groups()
    name = s.args.run

    def change(run: Body) -> Body | None:
        done = (run.get("spec") or {}).get("approval")
        if done:
            raise WhispererError(
                f"{name} was already {done.get('decision', '').lower()} by {done.get('by')}"
            )
        if not (run.get("status") or {}).get("risk"):
            raise WhispererError(
                f"{name}: its risk is not known yet (the operator reads it from the "
                "Runbook); try again in a moment"
            )
        approval = {
            "decision": decision,
            "by": user,
            "at": s.stamp(),
            "reason": s.args.reason or "",
            "groups": groups,
        }
        return {"spec": {"approval": approval}}

    run = s.update("runbookexecutions", name, ns, change)
    emit_one(
        run,
        output=s.args.output,
        text=lambda: f"runbookexecution.alertwhisperer.io/{name} {decision.lower()}",
        name=f"runbookexecution.alertwhisperer.io/{name}",
    )
    return 0


def run_approve(s: Session) -> int:
    return _decide(s, "Approved")


def run_reject(s: Session) -> int:
    return _decide(s, "Rejected")


def run_logs(s: Session) -> int:
    ns = s.need_namespace("logs")
    run = s.get("runbookexecutions", s.args.run, ns)
    st = run.get("status") or {}
    if s.args.output in ("json", "yaml"):
        emit_one({"results": st.get("results") or []}, output=s.args.output, text=str)
        return 0
    head = [
        ("run", s.args.run),
        ("phase", str(st.get("phase") or "Pending")),
        ("runbook", str(run["spec"]["runbookRef"]["name"])),
    ]
    print(pairs(head) + "\n\n" + logs_text(run))
    return 0


def register(sub: Subparsers) -> None:
    p = command(sub, "run", run_run, "request a run of a runbook, in your own name")
    scope(p, all_namespaces=False)
    p.add_argument(
        "runbook",
        metavar="RUNBOOK",
        help="the Runbook (the company's, else the platform library's)",
    )
    p.add_argument(
        "--incident", metavar="INCIDENT", help="run on the incident's cause asset, for it"
    )
    p.add_argument("--target", action="append", metavar="ASSET", help="an asset to run on (repeat)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a parameter (repeat)")
    p.add_argument("--reason", help="why")
    p.add_argument(
        "--wait", action="store_true", help="follow the run's phase and print each target's output"
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds --wait waits (default 600)")

    p = command(sub, "runs", run_runs, "list runbook runs")
    scope(p)
    p.add_argument("--incident", metavar="INCIDENT", help="only the runs for this incident")

    for name, handler, text in (
        ("approve", run_approve, "approve a run waiting for approval"),
        ("reject", run_reject, "reject a run waiting for approval"),
    ):
        p = command(sub, name, handler, text)
        scope(p, all_namespaces=False)
        p.add_argument("run", metavar="RUN", help="the RunbookExecution's name")
        p.add_argument("--reason", required=name == "reject", help="why")

    p = command(sub, "logs", run_logs, "each target's output of a run")
    scope(p, all_namespaces=False)
    p.add_argument("run", metavar="RUN", help="the RunbookExecution's name")
