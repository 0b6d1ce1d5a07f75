"""What a technician does to an incident: acknowledge, assign, note, wait on the customer
and resume, resolve, reopen. Each writes the incident's spec in the caller's own name (the
admission policy checks it is them); the operator's lifecycle turns it into phase, SLA and
timeline (services/lifecycle.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from whisperer.cli import incident_view as view
from whisperer.cli.commands.incidents import my_technicians
from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import emit_one
from whisperer.cli.output.timefmt import parse_time
from whisperer.cli.session import Session, UsageError
from whisperer.operator.clock import rfc3339
from whisperer.operator.errors import WhispererError

Body = dict[str, Any]
RESOLUTION_CODES = ("fixed", "workaround", "false-positive", "duplicate", "no-action")


class NothingToDoError(Exception):
    """The change is already there (a second `ack` by the same person): nothing to write."""


def _apply(s: Session, verb: str, change: Callable[[Body], Body]) -> int:
    """Write one spec change with the resourceVersion read (re-read on a conflict)."""
    ns = s.need_namespace(verb)
    name = s.args.incident
    said: list[str] = []

    def patch(body: Body) -> Body | None:
        try:
            return change(body)
        except NothingToDoError as done:
            said.append(str(done))
            return None

    body = s.update("incidents", name, ns, patch)
    message = said[0] if said else f"incident.alertwhisperer.io/{name} {verb}"
    emit_one(
        body,
        output=s.args.output,
        text=lambda: message,
        name=f"incident.alertwhisperer.io/{name}",
    )
    return 0


def _not_resolved(body: Body, verb: str) -> None:
    resolved = view.spec(body).get("resolution") or view.status(body).get("phase") == "Resolved"
    if resolved and not _reopened_since_resolution(body):
        raise WhispererError(f"cannot {verb}: {view.name(body)} is resolved (reopen it first)")


def _reopened_since_resolution(body: Body) -> bool:
    resolution = view.spec(body).get("resolution")
    reopenings = view.spec(body).get("reopenings") or []
    return bool(
        resolution and reopenings and str(reopenings[-1].get("at")) >= str(resolution.get("at"))
    )


def _stamp_after(s: Session, taken: list[str]) -> str:
    """Now, to the second, later than every time in `taken` by the same person: the
    timeline keys entries by (type, person, time), so two notes in one second would be one."""
    stamp = s.stamp()
    while stamp in taken:
        when = parse_time(stamp)
        assert when is not None
        stamp = rfc3339(when + timedelta(seconds=1))
    return stamp


def ack(s: Session) -> int:
    user = s.user()

    def change(body: Body) -> Body:
        _not_resolved(body, "acknowledge")
        done = view.spec(body).get("acknowledgement")
        if done:
            if done.get("by") == user:
                raise NothingToDoError(f"{view.name(body)} was already acknowledged by you")
            raise WhispererError(f"{view.name(body)} is already acknowledged by {done.get('by')}")
        return {"spec": {"acknowledgement": {"by": user, "at": s.stamp()}}}

    return _apply(s, "acknowledged", change)


def assign(s: Session) -> int:
    target = s.args.to
    if not target:
        names = my_technicians(s) or set()
        if len(names) != 1:
            raise UsageError("assign: name the technician with --to (you are not known as one)")
        target = next(iter(names))

    def change(body: Body) -> Body:
        _not_resolved(body, "assign")
        if view.spec(body).get("assignee") == target:
            raise NothingToDoError(f"{view.name(body)} is already assigned to {target}")
        return {"spec": {"assignee": target}}

    return _apply(s, f"assigned to {target}", change)


def note(s: Session) -> int:
    user = s.user()
    text = " ".join(s.args.text).strip()
    if not text:
        raise UsageError("note: the note is empty")

    def change(body: Body) -> Body:
        notes = list(view.spec(body).get("notes") or [])
        taken = [str(n.get("at")) for n in notes if n.get("author") == user]
        notes.append({"author": user, "at": _stamp_after(s, taken), "text": text})
        return {"spec": {"notes": notes[-50:]}}

    return _apply(s, "noted", change)


def wait_customer(s: Session) -> int:
    user = s.user()

    def change(body: Body) -> Body:
        _not_resolved(body, "wait on the customer")
        if view.open_wait(body):
            raise NothingToDoError(f"{view.name(body)} already waits on the customer")
        waits = list(view.spec(body).get("customerWaits") or [])
        wait: Body = {"by": user, "at": s.stamp()}
        if s.args.reason:
            wait["reason"] = s.args.reason
        return {"spec": {"customerWaits": [*waits, wait]}}

    return _apply(s, "waits on the customer (SLA paused)", change)


def resume(s: Session) -> int:
    user = s.user()

    def change(body: Body) -> Body:
        waits = [dict(w) for w in view.spec(body).get("customerWaits") or []]
        open_ = [w for w in waits if not w.get("resumedAt")]
        if not open_:
            raise NothingToDoError(f"{view.name(body)} does not wait on the customer")
        open_[0].update({"resumedBy": user, "resumedAt": s.stamp()})
        return {"spec": {"customerWaits": waits}}

    return _apply(s, "resumed (SLA running)", change)


def resolve(s: Session) -> int:
    user = s.user()

    def change(body: Body) -> Body:
        if view.spec(body).get("resolution") and not _reopened_since_resolution(body):
            by = view.spec(body)["resolution"].get("by")
            raise WhispererError(f"{view.name(body)} is already resolved by {by}")
        if view.spec(body).get("resolution"):
            raise WhispererError(
                f"{view.name(body)} was reopened; a resolution cannot be replaced in this "
                "API version (the operator resolves it when its alerts resolve)"
            )
        resolution = {"by": user, "at": s.stamp(), "code": s.args.code, "summary": s.args.note}
        return {"spec": {"resolution": resolution}}

    return _apply(s, "resolved", change)


def reopen(s: Session) -> int:
    user = s.user()

    def change(body: Body) -> Body:
        if view.status(body).get("phase") != "Resolved" and not view.spec(body).get("resolution"):
            raise WhispererError(f"cannot reopen: {view.name(body)} is not resolved")
        if _reopened_since_resolution(body):
            raise NothingToDoError(f"{view.name(body)} is already reopened")
        reopenings = list(view.spec(body).get("reopenings") or [])
        entry = {"by": user, "at": s.stamp(), "reason": s.args.reason}
        return {"spec": {"reopenings": [*reopenings, entry]}}

    return _apply(s, "reopened", change)


def register(sub: Subparsers) -> None:
    def one(name: str, handler: Callable[[Session], int], text: str) -> Any:
        p = command(sub, name, handler, text)
        scope(p, all_namespaces=False)
        p.add_argument("incident", metavar="INCIDENT", help="the incident's name")
        return p

    one("ack", ack, "acknowledge an incident (stops the response clock)")
    p = one("assign", assign, "assign an incident to a technician (you by default)")
    p.add_argument("--to", metavar="TECHNICIAN", help="the Technician's name")
    p = one("note", note, "add a note to an incident's timeline")
    p.add_argument("text", nargs="+", help="the note")
    p = one(
        "wait-customer", wait_customer, "pause the SLA clock: the incident waits on the customer"
    )
    p.add_argument("--reason", default="", help="what the customer owes")
    one("resume", resume, "end the wait on the customer (the SLA clock runs again)")
    p = one("resolve", resolve, "resolve an incident")
    p.add_argument("--note", required=True, help="what was done")
    p.add_argument("--code", choices=RESOLUTION_CODES, default="fixed", help="what kind of ending")
    p = one("reopen", reopen, "reopen a resolved incident")
    p.add_argument("--reason", required=True, help="why")
