"""What correlation, routing and SLA need to know of a company, read once from its spec: the
operator keeps these in a Kopf index, the config diff's replay builds them from the objects
it replays with. One constructor, so both see the same company."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from whisperer.operator.models.v1alpha1.company import InhibitRule
from whisperer.operator.services.durations import parse_duration


@dataclass(frozen=True)
class AssetFacts:
    """One asset's routing and remediation facts."""

    platform: str = "linux"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompanyFacts:
    """What other handlers need to know of a company without reading it."""

    admins: tuple[str, ...]
    auto_run_low_risk: bool
    window: timedelta = timedelta(minutes=15)
    auto_resolve: bool = True
    hold_down: timedelta = timedelta(minutes=5)
    reopen_window: timedelta = timedelta(hours=1)
    storm_threshold: int = 20
    flap_threshold: int = 4
    flap_window: timedelta = timedelta(hours=1)
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    critical: frozenset[str] = frozenset()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    sla_policy: str = ""
    assets: Mapping[str, AssetFacts] = field(default_factory=dict)


def facts_of(spec: Mapping[str, Any]) -> CompanyFacts:
    """The facts of a Company's spec (camelCase, as the API server stores it)."""
    remediation = spec.get("remediation") or {}
    incident_settings = spec.get("incidents") or {}
    assets = spec.get("assets") or []
    return CompanyFacts(
        admins=tuple(spec.get("admins", [])),
        auto_run_low_risk=bool(remediation.get("autoRunLowRisk", False)),
        window=parse_duration(incident_settings.get("aggregationWindow", "15m")),
        auto_resolve=bool(incident_settings.get("autoResolve", True)),
        hold_down=parse_duration(incident_settings.get("autoResolveHoldDown", "5m")),
        reopen_window=parse_duration(incident_settings.get("reopenWindow", "1h")),
        storm_threshold=int(incident_settings.get("stormThreshold", 20)),
        flap_threshold=int(incident_settings.get("flapThreshold", 4)),
        flap_window=parse_duration(incident_settings.get("flapWindow", "1h")),
        depends_on={a["name"]: tuple(a.get("dependsOn") or []) for a in assets},
        critical=frozenset(a["name"] for a in assets if a.get("critical")),
        inhibit_rules=tuple(
            InhibitRule.model_validate(r) for r in incident_settings.get("inhibitRules") or []
        ),
        sla_policy=str((spec.get("slaPolicyRef") or {}).get("name", "")),
        assets={
            a["name"]: AssetFacts(
                platform=str(a.get("platform", "linux")), tags=dict(a.get("tags") or {})
            )
            for a in assets
        },
    )
