"""A technician's day through the real kubectl: the queue, acknowledge, note, wait on the
customer and resume, resolve, reopen; the operator records each in the timeline, naming
the technician."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from support.cluster import wait_for
from support.plugin import as_json, ok, refused, whisper
from support.tenancy import TECHNICIAN

from .conftest import Shop


def _incident(shop: Shop, name: str) -> dict[str, Any]:
    return shop.admin.get("incidents", name, shop.ns)


def _timeline(shop: Shop, name: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["actor"]) for e in _incident(shop, name).get("status", {}).get("timeline", [])
    ]


def test_the_queue_shows_the_incident_with_its_countdown(shop: Shop) -> None:
    name = shop.new_incident()
    wait_for(
        lambda: _incident(shop, name).get("status", {}).get("sla", {}).get("nextDueAt"),
        what="its SLA deadline",
    )
    tech = shop.who("technician")
    table = ok(tech, "inc", "--company", shop.company, "--all")
    header, *rows = table.splitlines()
    assert header.split() == [
        "PRIORITY", "COMPANY", "NAME", "TITLE", "ASSETS", "STATE", "ASSIGNEE", "SLA", "AGE",
    ]  # fmt: skip
    row = next(r for r in rows if name in r)
    asset = _incident(shop, name)["status"]["rootCause"]["asset"]
    assert shop.company in row and asset in row and "Open" in row
    # The countdown: the alert fired days ago (support.alerts.T0), so it is late.
    assert re.search(r"BREACHED \d+d\d*h? ago", row), row
    wide = ok(tech, "inc", "--company", shop.company, "--all", "-o", "wide")
    assert "SEVERITY" in wide.splitlines()[0] and "ESCALATION" in wide.splitlines()[0]
    # Yours by default once you say who you are; and sorted lists parse as JSON.
    mine = as_json(tech, "inc", "--company", shop.company, "--me", shop.technician)
    assert name in [i["metadata"]["name"] for i in mine["items"]]
    nobody = as_json(tech, "inc", "--company", shop.company, "--me", "someone-else")
    assert name not in [i["metadata"]["name"] for i in nobody["items"]]
    for order in ("priority", "sla", "age"):
        as_json(tech, "inc", "--company", shop.company, "--all", "--sort", order)
    names = ok(tech, "inc", "--company", shop.company, "--all", "-o", "name").split()
    assert f"incident.alertwhisperer.io/{name}" in names
    listed = yaml.safe_load(ok(tech, "inc", "--company", shop.company, "--all", "-o", "yaml"))
    assert listed["kind"] == "List" and name in [i["metadata"]["name"] for i in listed["items"]]
    for command in (["alerts"], ["runs"], ["silence", "list"], ["runbooks"]):
        parsed = as_json(tech, *command, "--company", shop.company)
        assert parsed["kind"] == "List", command


def test_ack_note_wait_resume_resolve_and_the_timeline_names_the_technician(
    shop: Shop,
) -> None:
    name = shop.new_incident()
    tech = shop.who("technician")
    assert "acknowledged" in ok(tech, "ack", name, "--company", shop.company)
    assert "already acknowledged by you" in ok(tech, "ack", name, "--company", shop.company)
    ok(tech, "note", name, "--company", shop.company, "freed", "2 GB", "on", "/var")
    ok(tech, "note", name, "--company", shop.company, "watching it")
    ok(tech, "wait-customer", name, "--company", shop.company, "--reason", "reboot window")
    spec = _incident(shop, name)["spec"]
    assert spec["customerWaits"][0]["by"] == TECHNICIAN
    assert "Waiting" in ok(tech, "inc", "--company", shop.company, "--all", "--state", "waiting")
    ok(tech, "resume", name, "--company", shop.company)
    assert _incident(shop, name)["spec"]["customerWaits"][0]["resumedBy"] == TECHNICIAN
    ok(tech, "resolve", name, "--company", shop.company, "--note", "log rotation fixed")
    wait_for(
        lambda: _incident(shop, name).get("status", {}).get("phase") == "Resolved",
        what="the operator to resolve it",
    )
    timeline = _timeline(shop, name)
    for kind in ("Acknowledged", "NoteAdded", "Resolved"):
        assert (kind, TECHNICIAN) in timeline, timeline
    assert timeline.count(("NoteAdded", TECHNICIAN)) == 2
    shown = ok(tech, "show", name, "--company", shop.company)
    assert "Timeline:" in shown and TECHNICIAN in shown and "log rotation fixed" in shown
    assert "SLA clocks:" in shown
    again = whisper(tech, "resolve", name, "--company", shop.company, "--note", "x")
    assert again.returncode == 1 and "already resolved" in again.stderr
    assert "reopened" in ok(tech, "reopen", name, "--company", shop.company, "--reason", "back")
    assert _incident(shop, name)["spec"]["reopenings"][0]["by"] == TECHNICIAN


def test_show_lists_the_runbooks_that_fit_with_the_command_to_run_each(shop: Shop) -> None:
    name = shop.new_incident()
    shown = ok(shop.who("technician"), "show", name, "-n", shop.ns)
    assert "Suggested runbooks:" in shown
    assert f"kubectl whisper run {shop.runbooks['low']} --incident {name} -n {shop.ns}" in shown
    data = json.loads(ok(shop.who("technician"), "show", name, "-n", shop.ns, "-o", "json"))
    assert data["metadata"]["name"] == name
    fitting = as_json(shop.who("technician"), "runbooks", "--for", name, "-n", shop.ns)
    assert {r["metadata"]["name"] for r in fitting["items"]} >= set(shop.runbooks.values())


def test_a_forged_or_foreign_action_is_one_line_naming_what_was_refused(shop: Shop) -> None:
    name = shop.new_incident()
    line = refused(shop.who("outsider"), "ack", name, "--company", shop.company)
    assert line.startswith(f"error: refused: get incidents/{name} in namespace {shop.ns}: ")
    assert "eve@outsider.example" in line
    line = refused(shop.who("outsider"), "inc", "-A")
    assert "refused: list incidents" in line and "--company" in line


def test_assign_to_a_technician_is_taken_over_by_the_operator(shop: Shop) -> None:
    name = shop.new_incident()
    ok(
        shop.who("company-admin"),
        "assign",
        name,
        "--company",
        shop.company,
        "--to",
        shop.technician,
    )
    assert _incident(shop, name)["spec"]["assignee"] == shop.technician
    wait_for(
        lambda: _incident(shop, name).get("status", {}).get("assignee") == shop.technician,
        what="the assignee in status",
    )
    bad = whisper(shop.who("technician"), "assign", name, "--company", shop.company)
    assert bad.returncode == 2 and "--to" in bad.stderr
