"""`company list|show|rotate-key|resume-auto-runs`: the clients, where their tools post, a
ready integration snippet per monitoring tool (docs/integrations/ says the same, step by
step), and the automatic runs' circuit breaker."""

from __future__ import annotations

import sys
from typing import Any

from whisperer.cli.flags import Subparsers, command
from whisperer.cli.integrations import SNIPPETS, snippet
from whisperer.cli.output import Column, emit, emit_one, pairs
from whisperer.cli.session import Session
from whisperer.operator.errors import ForbiddenError
from whisperer.operator.services.tenancy import (
    PLATFORM_NAMESPACE,
    RESUME_ANNOTATION,
    ROTATE_ANNOTATION,
    company_of_namespace,
)

Body = dict[str, Any]
KEY_PLACEHOLDER = "<API_KEY>"


def _ready(body: Body) -> str:
    for c in (body.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status"))
    return "Unknown"


def run_list(s: Session) -> int:
    try:
        rows = s.kube.list("companies")
    except ForbiddenError:
        # Company admins and technicians may get their own companies, not list them all.
        own = company_of_namespace(s.namespace())
        if not own:
            rows = s.list("companies")  # the one-line refusal
        rows = [s.get("companies", own)] if own else []
    columns = [
        Column("Name", lambda c: str(c["metadata"]["name"])),
        Column("Display", lambda c: str(c["spec"].get("displayName", ""))),
        Column("SLA", lambda c: str((c["spec"].get("slaPolicyRef") or {}).get("name", ""))),
        Column("Namespace", lambda c: str((c.get("status") or {}).get("namespace") or "")),
        Column("Open", lambda c: str((c.get("status") or {}).get("openIncidents") or 0)),
        Column("Ready", _ready),
        Column(
            "Webhook", lambda c: str((c.get("status") or {}).get("webhookUrl") or ""), wide=True
        ),
        Column("Suspended", lambda c: str(c["spec"].get("suspended", False)).lower(), wide=True),
        Column("Admins", lambda c: ",".join(c["spec"].get("admins") or []), wide=True),
    ]
    emit(
        rows,
        output=s.args.output,
        columns=columns,
        raw=lambda c: c,
        name=lambda c: f"company.alertwhisperer.io/{c['metadata']['name']}",
        empty="No companies found.",
    )
    return 0


def _api_key(s: Session, company: Body) -> str:
    """The company's current key when asked and readable (MSP admins), else a placeholder."""
    if not s.args.show_key:
        return KEY_PLACEHOLDER
    secret = (company.get("status") or {}).get("credentialsSecret")
    if not secret:
        return KEY_PLACEHOLDER
    found = s.kube.read_secret(secret, PLATFORM_NAMESPACE)
    return (found[0].get("api-key") if found else None) or KEY_PLACEHOLDER


def run_show(s: Session) -> int:
    company = s.get("companies", s.args.company_name)
    st, sp = company.get("status") or {}, company.get("spec") or {}
    url = str(st.get("webhookUrl") or "")
    tools = [s.args.tool] if s.args.tool else list(SNIPPETS)
    key = _api_key(s, company) if url else KEY_PLACEHOLDER
    snippets = {tool: snippet(tool, url, key) for tool in tools} if url else {}
    data = {
        "name": company["metadata"]["name"],
        "displayName": sp.get("displayName"),
        "namespace": st.get("namespace"),
        "slaPolicy": (sp.get("slaPolicyRef") or {}).get("name"),
        "webhookUrl": url,
        "requireSignature": (sp.get("webhook") or {}).get("requireSignature", False),
        "externalId": st.get("externalId"),
        "admins": sp.get("admins") or [],
        "contacts": sp.get("contacts") or [],
        "assets": len(sp.get("assets") or []),
        "ready": _ready(company),
        "autoRemediation": st.get("autoRemediation") or {"paused": False},
        "integrations": snippets,
    }
    breaker = data["autoRemediation"]
    auto = (
        f"PAUSED since {breaker.get('pausedAt')}: {breaker.get('message')} "
        f"(kubectl whisper company resume-auto-runs {data['name']})"
        if breaker.get("paused")
        else ("on" if (sp.get("remediation") or {}).get("autoRunLowRisk") else "off")
    )

    def text() -> str:
        head = pairs(
            [
                ("name", str(data["name"])),
                ("display", str(data["displayName"] or "")),
                ("namespace", str(data["namespace"] or "")),
                ("sla policy", str(data["slaPolicy"] or "")),
                ("ready", str(data["ready"])),
                ("webhook", url or "(not ready yet)"),
                ("signatures", "required" if data["requireSignature"] else "optional"),
                ("aws external id", str(data["externalId"] or "")),
                ("admins", ", ".join(data["admins"])),
                ("assets", str(data["assets"])),
                ("automatic runs", auto),
            ]
        )
        parts = [head]
        for tool, body in snippets.items():
            parts.append(f"--- {SNIPPETS[tool].title} (docs/integrations/{tool}.md) ---\n{body}")
        if snippets and key == KEY_PLACEHOLDER:
            parts.append(
                f"{KEY_PLACEHOLDER}: the company's API key (MSP admins: --show-key prints it)."
            )
        return "\n\n".join(parts)

    emit_one(
        data, output=s.args.output, text=text, name=f"company.alertwhisperer.io/{data['name']}"
    )
    return 0


def _request(s: Session, annotation: str, said: str) -> Body:
    """Annotate the company with a request (its id, or now) and print `said` about it; the
    operator carries it out once and records it in status."""
    name = s.args.company_name
    value = s.args.request or s.stamp()
    body = s.patch("companies", name, {"metadata": {"annotations": {annotation: value}}})
    emit_one(
        body,
        output=s.args.output,
        text=lambda: f"company.alertwhisperer.io/{name} {said.format(value=repr(value))}",
        name=f"company.alertwhisperer.io/{name}",
    )
    return body


def run_rotate(s: Session) -> int:
    _request(
        s,
        ROTATE_ANNOTATION,
        "key rotation {value} requested "
        "(the previous key stays valid for spec.webhook.keyRotationGrace)",
    )
    return 0


def run_resume(s: Session) -> int:
    body = _request(
        s,
        RESUME_ANNOTATION,
        "automatic runs resume requested ({value}); failures before now no longer count",
    )
    if not ((body.get("status") or {}).get("autoRemediation") or {}).get("paused"):
        name = s.args.company_name
        print(f"{name}: automatic runs were not paused; the request is recorded", file=sys.stderr)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "company",
        help="clients: list, show (webhook and integrations), rotate-key, resume-auto-runs",
        description="Companies (the MSP's clients).",
    )
    group = p.add_subparsers(dest="company_command", required=True, metavar="ACTION")
    ls = command(group, "list", run_list, "list companies (yours, for a company admin)")
    ls.add_argument("-n", "--namespace", help="a company namespace (for those who may not list)")
    sh = command(
        group, "show", run_show, "a company, its webhook URL and a snippet per monitoring tool"
    )
    sh.add_argument("company_name", metavar="NAME")
    sh.add_argument("--tool", choices=list(SNIPPETS), help="only this tool's snippet")
    sh.add_argument(
        "--show-key", action="store_true", help="put the real API key in the snippets (MSP admins)"
    )
    rk = command(
        group,
        "rotate-key",
        run_rotate,
        "issue a new API key (MSP admins); the old one stays valid for the grace",
    )
    rk.add_argument("company_name", metavar="NAME")
    rk.add_argument("--request", metavar="ID", help="the request's id (a ticket); default: now")
    ra = command(
        group,
        "resume-auto-runs",
        run_resume,
        "resume automatic runs the circuit breaker paused (MSP admins)",
    )
    ra.add_argument("company_name", metavar="NAME")
    ra.add_argument("--request", metavar="ID", help="the request's id (a ticket); default: now")
