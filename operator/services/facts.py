"""What correlation, routing and SLA need to know of a company, read once from its spec: the
operator keeps these in its config store, the config diff's replay builds them from the
objects it replays with. One constructor, so both see the same company; the defaults are
the model's (`CompanySpec`), nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from whisperer.operator.models.v1alpha1.company import CompanySpec, InhibitRule
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
    viewers: tuple[str, ...]
    auto_run_low_risk: bool
    window: timedelta
    auto_resolve: bool
    hold_down: timedelta
    reopen_window: timedelta
    storm_threshold: int
    flap_threshold: int
    flap_window: timedelta
    retention: timedelta
    depends_on: Mapping[str, tuple[str, ...]]
    critical: frozenset[str]
    inhibit_rules: tuple[InhibitRule, ...]
    sla_policy: str
    assets: Mapping[str, AssetFacts]
    host_window: timedelta
    """Low alerts of different signals on one asset within this long join one incident (0:
    off; the default is the Company model's)."""
    stale_after: Mapping[str, timedelta] = field(default_factory=lambda: dict(STALE_AFTER))
    """Per source tool: how long a firing alert lives without a new report (event time);
    a tool missing here never goes stale."""
    noise_signals: frozenset[str] = frozenset()


STALE_AFTER: Mapping[str, timedelta] = {
    # Point events: tools that never (or only when configured to) send a resolution.
    "generic": timedelta(minutes=30),
    "datadog": timedelta(hours=4),  # event alerts; monitors send their recovery
    "zabbix": timedelta(hours=24),  # triggers with recovery off
    "pagerduty": timedelta(hours=4),  # PagerDuty's own auto-resolve default
}
"""The default staleness timeouts per source tool; Alertmanager, Grafana, CloudWatch and
Azure Monitor send resolutions (an Alertmanager alert's own endsAt still counts)."""


def stale_after_of(overrides: Mapping[Any, str]) -> dict[str, timedelta]:
    """The company's staleness timeouts: the defaults, with its overrides (`0s`: never)."""
    found = dict(STALE_AFTER)
    for source, text in overrides.items():
        found[str(source)] = parse_duration(text)
    return {k: v for k, v in found.items() if v > timedelta(0)}


def facts_of(spec: CompanySpec | Mapping[str, Any]) -> CompanyFacts:
    """The facts of a Company's spec (the model, or its body as the API server stores it:
    the defaults are the model's, nowhere else)."""
    if not isinstance(spec, CompanySpec):
        spec = CompanySpec.model_validate(spec)
    settings = spec.incidents
    return CompanyFacts(
        admins=tuple(spec.admins),
        viewers=tuple(spec.viewers),
        auto_run_low_risk=spec.remediation.auto_run_low_risk,
        window=parse_duration(settings.aggregation_window),
        auto_resolve=settings.auto_resolve,
        hold_down=parse_duration(settings.auto_resolve_hold_down),
        reopen_window=parse_duration(settings.reopen_window),
        storm_threshold=settings.storm_threshold,
        flap_threshold=settings.flap_threshold,
        flap_window=parse_duration(settings.flap_window),
        retention=parse_duration(settings.alert_retention),
        depends_on={a.name: tuple(a.depends_on) for a in spec.assets},
        critical=frozenset(a.name for a in spec.assets if a.critical),
        inhibit_rules=tuple(settings.inhibit_rules),
        sla_policy=spec.sla_policy_ref.name,
        assets={
            a.name: AssetFacts(platform=str(a.platform), tags=dict(a.tags)) for a in spec.assets
        },
        stale_after=stale_after_of(settings.stale_after),
        noise_signals=frozenset(settings.noise_signals),
        host_window=parse_duration(settings.host_window),
    )
