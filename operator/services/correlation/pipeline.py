"""One firing alert through the decisions that place it: silences, then inhibition, then
correlation. The operator's handler and the config diff's replay both call `place`, so a
replay decides exactly as the operator would; only the side effects (creating incidents,
writing status) are the caller's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from whisperer.operator.models.v1alpha1 import Alert, Silence
from whisperer.operator.services.correlation.correlator import (
    AlertFacts,
    Correlator,
    Decision,
    OpenIncident,
)
from whisperer.operator.services.facts import CompanyFacts
from whisperer.operator.services.inhibition import FiringAlert, inhibitor
from whisperer.operator.services.matchers import alert_fields
from whisperer.operator.services.silences import silenced_by


@dataclass(frozen=True)
class Placement:
    """Where a firing alert went: silenced, muted by another alert (onto that alert's
    incident when it has one), or into an incident by correlation's decision."""

    fact: AlertFacts
    fields: dict[str, str]
    silence: Silence | None = None
    inhibitor: FiringAlert | None = None
    decision: Decision | None = None
    incident: OpenIncident | None = None
    """The incident it joined (None when muted by an alert without one, or when the decision
    must first load an incident: `decision.load`)."""


def alert_facts(alert: Alert, company: str, at: datetime | None = None) -> AlertFacts:
    """What correlation needs of an alert, at its first firing (or at `at`, a recurrence)."""
    return AlertFacts(
        company=company,
        name=alert.metadata.name,
        asset=alert.spec.asset.name,
        signal=alert.spec.signal,
        category=alert.spec.labels.get("signal_category", "other"),
        severity=alert.spec.severity,
        source=alert.spec.source,
        at=at or alert.spec.first_seen,
    )


def incident_name(alert: Alert, at: datetime | None = None) -> str:
    """The name of an incident an alert opens (deterministic: a rerun finds it again); a
    recurrence at `at` that opens another one is told apart by its time."""
    if at is None or at == alert.spec.first_seen:
        return f"inc-{alert.spec.fingerprint}"
    return f"inc-{alert.spec.fingerprint[:16]}-{int(at.timestamp()):x}"


def place(
    correlator: Correlator,
    alert: Alert,
    company: str,
    facts: CompanyFacts,
    *,
    silences: Iterable[Silence],
    firing: Iterable[FiringAlert],
    at: datetime | None = None,
) -> Placement:
    """Decide where a firing alert goes; the correlator remembers the decision. `silences`
    are those of the company's namespace and the platform's; `firing` the namespace's
    firing alerts (inhibition candidates); `at` the time of a recurrence (default: the
    alert's first firing)."""
    fact = alert_facts(alert, company, at)
    fields = alert_fields(
        alert.spec.labels,
        asset=fact.asset,
        signal=fact.signal,
        severity=fact.severity,
        source=fact.source,
    )
    silence = silenced_by(silences, fields=fields, at=fact.at)
    if silence is not None:
        return Placement(fact, fields, silence=silence)
    source = inhibitor(facts.inhibit_rules, fields, fact.name, firing)
    if source is not None:
        muted = correlator.mute(company, source.incident, fact) if source.incident else None
        return Placement(fact, fields, inhibitor=source, incident=muted)
    decision = correlator.decide(
        fact,
        new_name=incident_name(alert, at),
        window=facts.window,
        depends_on=facts.depends_on,
        reopen_window=facts.reopen_window,
        storm_threshold=facts.storm_threshold,
        host_window=facts.host_window,
    )
    if decision.load:  # nothing decided yet: the caller loads the incident and asks again
        return Placement(fact, fields, decision=decision)
    return Placement(
        fact, fields, decision=decision, incident=correlator.find(company, decision.incident)
    )
