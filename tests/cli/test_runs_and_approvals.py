"""Runs requested with `kubectl whisper run` in the caller's name, and who may approve them:
a technician nobody; a company admin medium (the company allows it), not high; an MSP admin
high. `--wait` follows a run to its end."""

from __future__ import annotations

import subprocess
import time

from support.cluster import kubectl_path, wait_for
from support.plugin import as_json, env_for, ok, refused, whisper
from support.tenancy import COMPANY_ADMIN, MSP_ADMIN, TECHNICIAN

from .conftest import Shop


def _request(shop: Shop, risk: str, identity: str = "technician") -> str:
    incident = shop.new_incident()
    out = ok(
        shop.who(identity),
        "run", shop.runbooks[risk], "--incident", incident, "--company", shop.company,
        "-o", "name",
    )  # fmt: skip
    name = out.strip().split("/")[-1]
    wait_for(
        lambda: shop.admin.get("runbookexecutions", name, shop.ns).get("status", {}).get("risk"),
        what=f"the operator to record the risk of {name}",
    )
    return name


def test_run_is_requested_in_the_callers_name_on_the_incidents_asset(shop: Shop) -> None:
    name = _request(shop, "high")
    run = shop.admin.get("runbookexecutions", name, shop.ns)
    assert run["spec"]["requestedBy"] == TECHNICIAN
    cause = shop.admin.get("incidents", run["spec"]["incidentRef"]["name"], shop.ns)
    assert run["spec"]["targets"] == [cause["status"]["rootCause"]["asset"]]
    assert run["spec"]["runbookRef"] == {
        "name": shop.runbooks["high"],
        "namespace": "alert-whisperer",
    }
    runs = as_json(shop.who("technician"), "runs", "--company", shop.company)
    assert name in [r["metadata"]["name"] for r in runs["items"]]
    table = ok(shop.who("technician"), "runs", "--company", shop.company)
    assert "AwaitingApproval" in next(line for line in table.splitlines() if name in line)


def test_a_technician_cannot_approve(shop: Shop) -> None:
    name = _request(shop, "low")
    line = refused(shop.who("technician"), "approve", name, "--company", shop.company)
    assert line.startswith(f"error: refused: patch runbookexecutions/{name} in namespace {shop.ns}")


def test_a_company_admin_approves_medium_and_not_high(shop: Shop) -> None:
    medium = _request(shop, "medium")
    out = ok(
        shop.who("company-admin"), "approve", medium, "--company", shop.company, "--reason", "ok"
    )
    assert "approved" in out
    approval = shop.admin.get("runbookexecutions", medium, shop.ns)["spec"]["approval"]
    assert approval["by"] == COMPANY_ADMIN and approval["decision"] == "Approved"
    high = _request(shop, "high")
    line = refused(shop.who("company-admin"), "approve", high, "--company", shop.company)
    assert "may not approve a high-risk run" in line


def test_an_msp_admin_approves_high_and_a_rejection_needs_a_reason(shop: Shop) -> None:
    high = _request(shop, "high")
    ok(shop.who("msp-admin"), "approve", high, "--company", shop.company)
    approval = shop.admin.get("runbookexecutions", high, shop.ns)["spec"]["approval"]
    assert approval["by"] == MSP_ADMIN
    # The groups the API server knows the caller by (an MSP admin only through its group).
    assert sorted(approval["groups"]) == ["alertwhisperer.io:msp-admins", "system:authenticated"]

    # ... with which the operator's access review lets the run past its approval (the shop's
    # company has no cloud account: it stops at its credentials).
    def decided() -> dict[str, object] | None:
        st = shop.admin.get("runbookexecutions", high, shop.ns).get("status") or {}
        return st if st.get("phase") not in (None, "Pending", "AwaitingApproval") else None

    past = wait_for(decided, what="the operator to decide on the approval")
    assert past["phase"] != "Rejected" and past.get("reason") != "ApproverNotAllowed", past
    again = whisper(shop.who("msp-admin"), "approve", high, "--company", shop.company)
    assert again.returncode == 1 and "already approved" in again.stderr
    other = _request(shop, "high")
    usage = whisper(shop.who("msp-admin"), "reject", other, "--company", shop.company)
    assert usage.returncode == 2
    ok(shop.who("msp-admin"), "reject", other, "--company", shop.company, "--reason", "not now")
    wait_for(
        lambda: (
            shop.admin.get("runbookexecutions", other, shop.ns).get("status", {}).get("phase")
            == "Rejected"
        ),
        what="the operator to reject it",
    )
    assert "(no output)" in ok(shop.who("technician"), "logs", other, "--company", shop.company)


def test_wait_follows_the_run_until_someone_decides(shop: Shop) -> None:
    incident = shop.new_incident()
    follow = subprocess.Popen(
        [
            kubectl_path(), "whisper", "run", shop.runbooks["high"], "--incident", incident,
            "--company", shop.company, "--wait", "--timeout", "90",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(shop.who("technician")),
    )  # fmt: skip
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()
        while "AwaitingApproval" not in first:
            first = follow.stdout.readline()
            assert first, "the run never waited for approval"
        name = first.split("approve ")[1].split()[0]
        ok(shop.who("msp-admin"), "reject", name, "--company", shop.company, "--reason", "no")
        out, err = follow.communicate(timeout=60)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
    assert "phase: Rejected" in out
    assert follow.returncode == 1  # the run did not succeed
    assert f"{name} created" in err


def test_run_needs_one_of_incident_or_target(shop: Shop) -> None:
    both = whisper(shop.who("technician"), "run", "x", "--company", shop.company)
    assert both.returncode == 2 and "--incident" in both.stderr
    started = time.monotonic()
    bad = whisper(
        shop.who("technician"), "run", "x", "--target", "a", "--param", "oops", "-n", shop.ns
    )
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
    assert time.monotonic() - started < 30
