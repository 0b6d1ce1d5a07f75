"""`--watch` shows a change someone else made; silences in the caller's name; companies
and their integration snippets; key rotation for MSP admins only; the monthly report from
the numbers the operator keeps on the Company."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta

from support.cluster import kubectl_path, wait_for
from support.plugin import as_json, env_for, ok, refused, whisper
from support.tenancy import COMPANY_ADMIN, TECHNICIAN

from whisperer.cli.integrations import SNIPPETS

from .conftest import Shop


def test_watch_shows_a_change_made_by_someone_else(shop: Shop) -> None:
    name = shop.new_incident()
    watch = subprocess.Popen(
        [
            kubectl_path(),
            "whisper",
            "inc",
            "--company",
            shop.company,
            "--all",
            "--watch",
            "-o",
            "wide",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env_for(shop.who("company-admin")),
    )
    lines: list[str] = []

    def read() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(name in line for line in lines), timeout=60, what="the table")
        before = len(lines)
        ok(shop.who("technician"), "ack", name, "--company", shop.company)
        wait_for(
            # The wide table's ACKNOWLEDGED BY comes from the spec: no wait for the operator.
            lambda: any(name in x and TECHNICIAN in x for x in lines[before:]),
            timeout=60,
            what="the watch to show the acknowledgement",
        )
    finally:
        watch.terminate()
        watch.wait(timeout=10)
        reader.join(timeout=10)
        assert watch.stdout is not None
        watch.stdout.close()
    assert lines[0].split()[0] == "PRIORITY"


def test_silence_create_list_expire_in_the_callers_name(shop: Shop) -> None:
    admin = shop.who("company-admin")
    out = ok(
        admin, "silence", "create", "--company", shop.company,
        "--match", "asset=web01", "--match", "signal=~disk.*", "--for", "2h",
        "--comment", "CHG-42 patching", "-o", "name",
    )  # fmt: skip
    name = out.strip().split("/")[-1]
    body = shop.admin.get("silences", name, shop.ns)
    assert body["spec"]["createdBy"] == COMPANY_ADMIN
    assert body["spec"]["matchers"][1] == {"name": "signal", "op": "=~", "value": "disk.*"}
    listed = ok(shop.who("technician"), "silence", "list", "--company", shop.company)
    assert name in listed and "asset=web01,signal=~disk.*" in listed
    ok(admin, "silence", "expire", name, "--company", shop.company)
    assert name not in ok(admin, "silence", "list", "--company", shop.company)
    assert name in ok(admin, "silence", "list", "--company", shop.company, "--expired")
    bad = whisper(admin, "silence", "create", "--company", shop.company, "--match", "asset",
                  "--for", "1h", "--comment", "x")  # fmt: skip
    assert bad.returncode == 2 and "NAME=VALUE" in bad.stderr
    bad = whisper(admin, "silence", "create", "--company", shop.company, "--match", "a=b",
                  "--for", "soon", "--comment", "x")  # fmt: skip
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def test_alerts_are_listed_with_filters(shop: Shop) -> None:
    name = shop.new_incident(asset="web01")
    found = as_json(shop.who("technician"), "alerts", "--company", shop.company, "--asset", "web01")
    refs = {(a["status"] or {}).get("incidentRef", {}).get("name") for a in found["items"]}
    assert name in refs
    none = as_json(shop.who("technician"), "alerts", "--company", shop.company, "--asset", "nope")
    assert none["items"] == []


def test_company_show_prints_the_webhook_and_a_snippet_per_tool(shop: Shop) -> None:
    wait_for(
        lambda: shop.admin.get("companies", shop.company).get("status", {}).get("webhookUrl"),
        what="the webhook URL",
    )
    text = ok(shop.who("company-admin"), "company", "show", shop.company)
    url = shop.admin.get("companies", shop.company)["status"]["webhookUrl"]
    assert url in text
    for tool, snippet in SNIPPETS.items():
        assert f"--- {snippet.title} (docs/integrations/{tool}.md) ---" in text
    assert "<API_KEY>" in text  # a company admin cannot read the key
    data = as_json(shop.who("msp-admin"), "company", "show", shop.company, "--show-key")
    assert data["webhookUrl"] == url
    assert "<API_KEY>" not in data["integrations"]["alertmanager"]
    assert "aw_" in data["integrations"]["alertmanager"]
    # A company admin sees their company; the MSP admin lists them all.
    assert shop.company in ok(shop.who("company-admin"), "company", "list", "-n", shop.ns)
    listed = as_json(shop.who("msp-admin"), "company", "list")
    assert shop.company in [c["metadata"]["name"] for c in listed["items"]]


def test_rotate_key_is_for_msp_admins(shop: Shop) -> None:
    line = refused(shop.who("company-admin"), "company", "rotate-key", shop.company)
    assert line.startswith(f"error: refused: patch companies/{shop.company}: ")
    ok(shop.who("msp-admin"), "company", "rotate-key", shop.company, "--request", "T-1")
    annotations = shop.admin.get("companies", shop.company)["metadata"]["annotations"]
    assert annotations["alertwhisperer.io/rotate-credentials"] == "T-1"


def test_resume_auto_runs_is_for_msp_admins_and_show_tells_the_breakers_state(shop: Shop) -> None:
    line = refused(shop.who("company-admin"), "company", "resume-auto-runs", shop.company)
    assert line.startswith(f"error: refused: patch companies/{shop.company}: ")
    ok(shop.who("msp-admin"), "company", "resume-auto-runs", shop.company, "--request", "T-2")
    annotations = shop.admin.get("companies", shop.company)["metadata"]["annotations"]
    assert annotations["alertwhisperer.io/resume-auto-remediation"] == "T-2"
    shown = ok(shop.who("msp-admin"), "company", "show", shop.company)
    assert "AUTOMATIC RUNS   off" in shown or "AUTOMATIC RUNS   on" in shown, shown
    data = as_json(shop.who("msp-admin"), "company", "show", shop.company)
    assert data["autoRemediation"]["paused"] is False


def test_the_report_comes_from_the_operators_numbers_and_the_incidents(shop: Shop) -> None:
    name = shop.new_incident()
    ok(shop.who("technician"), "ack", name, "--company", shop.company)
    opened = shop.admin.get("incidents", name, shop.ns)["status"]["openedAt"]
    month = opened[:7]  # the alert's event time (support.alerts.T0)

    def stored() -> dict | None:
        reports = shop.admin.get("companies", shop.company).get("status", {}).get("monthlyReports")
        found = [r for r in reports or [] if r["month"] == month]
        return found[0] if found and found[0]["incidents"] >= 1 else None

    summary = wait_for(stored, timeout=30, what="the operator to write this month's numbers")
    report = as_json(
        shop.who("company-admin"), "report", "--company", shop.company, "--month", month
    )
    assert report["company"] == shop.company and report["displayName"] == "Acme Dental"
    assert report["incidents"]["total"] >= summary["incidents"]
    # Not final yet (7 days after the month): live numbers from the incidents.
    final = datetime.now(UTC) >= datetime.fromisoformat(f"{month}-01T00:00:00+00:00").replace(
        month=int(month[5:]) % 12 + 1
    ) + timedelta(days=7)
    assert report["source"] == ("summary" if final else "incidents")
    text = ok(shop.who("company-admin"), "report", "--company", shop.company, "--month", month)
    assert "RESPONSE SLA" in text
    html = whisper(shop.who("technician"), "report", "--company", shop.company, "-o", "html",
                   "--month", month)  # fmt: skip
    assert html.returncode == 0 and html.stdout.startswith("<!DOCTYPE html>")
    assert refused(shop.who("outsider"), "report", "--company", shop.company).startswith(
        f"error: refused: get companies/{shop.company}"
    )
    bad = whisper(shop.who("technician"), "report", "--company", shop.company, "--month", "13")
    assert bad.returncode == 2


def test_an_acknowledgement_lists_the_technician_in_json(shop: Shop) -> None:
    name = shop.new_incident()
    body = json.loads(ok(shop.who("technician"), "ack", name, "--company", shop.company,
                         "-o", "json"))  # fmt: skip
    assert body["spec"]["acknowledgement"]["by"] == TECHNICIAN
