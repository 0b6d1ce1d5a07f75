"""`report --company NAME --month YYYY-MM`: the monthly client report (html, json, text),
from the reporting service: the stored summary of a closed month, else the incidents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from whisperer.cli.flags import Subparsers, command
from whisperer.cli.output import dump
from whisperer.cli.output import report as render
from whisperer.cli.session import Session, UsageError
from whisperer.operator.errors import ForbiddenError, WhispererError
from whisperer.operator.services.reporting import report, store
from whisperer.operator.services.reporting.summary import Month
from whisperer.operator.services.tenancy import namespace_name


def build(s: Session) -> dict[str, Any]:
    try:
        month = Month.parse(s.args.month) if s.args.month else Month.of(s.now()).previous()
    except ValueError as exc:
        raise UsageError(f"--month: {exc}") from exc
    name = s.args.company
    company = s.get("companies", name)
    incidents: list[dict[str, Any]] | None
    try:
        incidents = s.kube.list("incidents", namespace_name(name))
    except ForbiddenError:
        incidents = None  # the stored summary alone
    summary, source = store.summary_for(company, incidents, month, now=s.now())
    display = str((company.get("spec") or {}).get("displayName") or name)
    return report.build(summary, company=name, display_name=display, source=source)


def run(s: Session) -> int:
    data = build(s)
    fmt = s.args.output
    if fmt in ("json", "yaml"):
        out = dump(data, fmt)
    elif fmt == "html":
        out = render.html(data)
    else:
        out = render.text(data)
    if s.args.out:
        try:
            Path(s.args.out).write_text(out + "\n", encoding="utf-8")
        except OSError as exc:
            raise WhispererError(f"cannot write {s.args.out}: {exc}") from exc
        print(f"wrote {s.args.out}", file=sys.stderr)
    else:
        print(out)
    return 0


def register(sub: Subparsers) -> None:
    p = command(
        sub,
        "report",
        run,
        "the monthly client report (html, json, text)",
        description="The monthly client report: SLA compliance, MTTA and MTTR by severity, "
        "incidents per week, noise reduction, self-healing, escalations, major incidents. "
        "Definitions: docs/plugin.md.",
        formats=("text", "html", "json", "yaml"),
    )
    p.set_defaults(output="text")
    p.add_argument("--company", required=True, help="the company")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
