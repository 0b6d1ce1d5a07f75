"""`silence create|list|expire`: maintenance windows, in the caller's name."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from whisperer.cli.flags import Subparsers, command, scope
from whisperer.cli.output import Column, emit, emit_one
from whisperer.cli.output.timefmt import countdown, parse_time
from whisperer.cli.session import Session, UsageError
from whisperer.operator.clock import rfc3339
from whisperer.operator.services.durations import parse_duration

Body = dict[str, Any]
MATCHER = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-/]*)(=~|!~|!=|=)(.*)$")


def matchers(items: list[str]) -> list[Body]:
    """`name=value`, `name!=value`, `name=~regex`, `name!~regex`, as Alertmanager's amtool."""
    found = []
    for item in items:
        m = MATCHER.match(item)
        if not m:
            raise UsageError(f"--match {item!r}: expected NAME=VALUE (or !=, =~, !~)")
        found.append({"name": m.group(1), "op": m.group(2), "value": m.group(3)})
    return found


def run_create(s: Session) -> int:
    ns = s.need_namespace("silence create")
    try:
        length = parse_duration(s.args.duration)
    except ValueError as exc:
        raise UsageError(f"--for {s.args.duration!r}: {exc}") from exc
    if length <= timedelta(0):
        raise UsageError("--for must be more than 0")
    now = s.now()
    body = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Silence",
        "metadata": {"generateName": "silence-", "namespace": ns},
        "spec": {
            "matchers": matchers(s.args.match),
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(now + length),
            "createdBy": s.user(),
            "comment": s.args.comment,
        },
    }
    created = s.create("silences", body, ns)
    name = created["metadata"]["name"]
    emit_one(
        created,
        output=s.args.output,
        text=lambda: f"silence.alertwhisperer.io/{name} created (until {rfc3339(now + length)})",
        name=f"silence.alertwhisperer.io/{name}",
    )
    return 0


def _matchers_text(body: Body) -> str:
    return ",".join(
        f"{m.get('name')}{m.get('op', '=')}{m.get('value')}"
        for m in (body.get("spec") or {}).get("matchers") or []
    )


def run_list(s: Session) -> int:
    rows = s.list("silences", s.namespace())
    now = s.now()
    if not s.args.expired:
        rows = [
            r
            for r in rows
            if (r["spec"].get("recurrence") or (parse_time(r["spec"].get("endsAt")) or now) > now)
        ]
    columns = [
        Column("Name", lambda r: str(r["metadata"]["name"])),
        Column("Matchers", _matchers_text),
        Column(
            "Ends", lambda r: countdown(r["spec"].get("endsAt"), now).replace("BREACHED", "ended")
        ),
        Column("Created By", lambda r: str(r["spec"].get("createdBy") or "")),
        Column("Comment", lambda r: str(r["spec"].get("comment", ""))[:48]),
        Column("Namespace", lambda r: str(r["metadata"].get("namespace", "")), wide=True),
        Column("Starts", lambda r: str(r["spec"].get("startsAt") or ""), wide=True),
        Column("Active", lambda r: str((r.get("status") or {}).get("active", "")), wide=True),
        Column(
            "Recurrence",
            lambda r: str((r["spec"].get("recurrence") or {}).get("cron") or ""),
            wide=True,
        ),
    ]
    emit(
        rows,
        output=s.args.output,
        columns=columns,
        raw=lambda r: r,
        name=lambda r: f"silence.alertwhisperer.io/{r['metadata']['name']}",
        empty="No silences found.",
    )
    return 0


def run_expire(s: Session) -> int:
    ns = s.need_namespace("silence expire")
    name = s.args.silence

    def change(body: Body) -> Body | None:
        now = s.now()
        start = parse_time(body["spec"].get("startsAt"))
        end = parse_time(body["spec"].get("endsAt"))
        if end is not None and end <= now and not body["spec"].get("recurrence"):
            return None
        # endsAt must stay after startsAt (the CRD says so).
        when = max(now, start + timedelta(seconds=1)) if start else now
        patch: Body = {"spec": {"endsAt": rfc3339(when)}}
        if start is None:
            patch["spec"]["startsAt"] = rfc3339(when - timedelta(seconds=1))
        return patch

    body = s.update("silences", name, ns, change)
    emit_one(
        body,
        output=s.args.output,
        text=lambda: f"silence.alertwhisperer.io/{name} expired",
        name=f"silence.alertwhisperer.io/{name}",
    )
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "silence",
        help="maintenance windows: create, list, expire",
        description="Silences: matching alerts open no incident while they last.",
    )
    group = p.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    c = command(group, "create", run_create, "silence matching alerts for a while")
    scope(c, all_namespaces=False)
    c.add_argument(
        "--match",
        action="append",
        required=True,
        metavar="NAME=VALUE",
        help="a matcher: asset=web01, signal=~disk.*, ... (repeat: all must match)",
    )
    c.add_argument(
        "--for", dest="duration", required=True, metavar="DURATION", help="how long: 30m, 2h, 1d"
    )
    c.add_argument("--comment", required=True, help="why (a change ticket, say)")
    ls = command(group, "list", run_list, "list silences in force (all with --expired)")
    scope(ls)
    ls.add_argument("--expired", action="store_true", help="include ended ones")
    e = command(group, "expire", run_expire, "end a silence now")
    scope(e, all_namespaces=False)
    e.add_argument("silence", metavar="SILENCE", help="the Silence's name")
