"""Which runbook fits an incident, and whether it may start without asking anyone. A pure
function, so the operator and the config diff's replay choose alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from whisperer.operator.models.v1alpha1 import Runbook
from whisperer.operator.services.facts import AssetFacts
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

RISK_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class RunbookChoice:
    """The runbook for an incident, and whether it would run by itself."""

    runbook: str  # namespace/name
    risk: str
    auto_run: bool


def choose_runbook(
    runbooks: Iterable[Runbook],
    *,
    company_namespace: str,
    signal: str,
    severity: str,
    asset: AssetFacts,
    auto_run_low_risk: bool,
) -> RunbookChoice | None:
    """The runbook (the company's own, or the platform's) whose `matches` fit the incident's
    signal, severity, asset tags and platform; the least risky wins, then the company's own,
    then the name. It auto-runs only when low-risk and the company allows it."""
    fitting = [
        rb
        for rb in runbooks
        if rb.metadata.namespace in (company_namespace, PLATFORM_NAMESPACE)
        and signal in rb.spec.matches.signals
        and (not rb.spec.matches.severities or severity in rb.spec.matches.severities)
        and all(asset.tags.get(k) == v for k, v in rb.spec.matches.asset_tags.items())
        and (asset.platform == "other" or rb.spec.platform == asset.platform)
    ]
    if not fitting:
        return None
    best = min(
        fitting,
        key=lambda rb: (
            RISK_RANK.get(str(rb.spec.risk), 3),
            rb.metadata.namespace != company_namespace,
            rb.metadata.name,
        ),
    )
    risk = str(best.spec.risk)
    return RunbookChoice(
        runbook=f"{best.metadata.namespace}/{best.metadata.name}",
        risk=risk,
        auto_run=risk == "low" and auto_run_low_risk,
    )
