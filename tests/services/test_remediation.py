"""The runbook that fits an incident: signal, severity, tags and platform; the least risky
wins; it starts by itself only when low-risk and the company allows it."""

from __future__ import annotations

from typing import Any

from whisperer.operator.models.v1alpha1 import Runbook
from whisperer.operator.services.facts import AssetFacts
from whisperer.operator.services.remediation import choose_runbook


def runbook(
    name: str, namespace: str, risk: str, platform: str = "linux", **matches: Any
) -> Runbook:
    return Runbook.model_validate(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Runbook",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "title": name,
                "risk": risk,
                "platform": platform,
                "shell": "powershell" if platform == "windows" else "bash",
                "script": "true",
                "matches": matches,
            },
        }
    )


BOOKS = [
    runbook("reboot", "alert-whisperer", "high", signals=["disk-space-low", "memory-high"]),
    runbook("clean", "alert-whisperer", "low", signals=["disk-space-low"]),
    runbook("clean-win", "alert-whisperer", "low", "windows", signals=["disk-space-low"]),
    runbook("theirs", "company-acme", "low", signals=["disk-space-low"], assetTags={"role": "db"}),
    runbook("other-company", "company-globex", "low", signals=["memory-high"]),
]


def choose(
    signal: str, *, tags: dict[str, str] | None = None, platform: str = "linux", auto: bool = False
) -> Any:
    return choose_runbook(
        BOOKS,
        company_namespace="company-acme",
        signal=signal,
        severity="high",
        asset=AssetFacts(platform=platform, tags=tags or {}),
        auto_run_low_risk=auto,
    )


def test_the_least_risky_fitting_runbook_for_the_platform() -> None:
    got = choose("disk-space-low")
    assert got.runbook == "alert-whisperer/clean" and got.risk == "low" and not got.auto_run
    assert choose("disk-space-low", platform="windows").runbook == "alert-whisperer/clean-win"


def test_the_companys_own_runbook_wins_a_tie_and_tags_must_match() -> None:
    assert choose("disk-space-low", tags={"role": "db"}).runbook == "company-acme/theirs"


def test_another_companys_runbook_never_fits() -> None:
    assert choose("memory-high").runbook == "alert-whisperer/reboot"


def test_it_runs_by_itself_only_when_low_risk_and_allowed() -> None:
    assert choose("disk-space-low", auto=True).auto_run
    assert not choose("memory-high", auto=True).auto_run
    assert choose("cpu-high") is None
