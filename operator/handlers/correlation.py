"""Alerts into incidents: each new firing alert joins an open incident or opens one."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import kopf

from whisperer.operator.errors import ConflictError
from whisperer.operator.handlers.config import company_of
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Alert, Silence
from whisperer.operator.services import incidents
from whisperer.operator.services.correlation import AlertFacts, Correlator
from whisperer.operator.services.silences import silenced_by
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

LOCK = threading.Lock()  # decisions for one operator are made one at a time


def startup(memo: kopf.Memo) -> None:
    """Remember the open incidents (called once by the runner's startup handler)."""
    memo.correlator = Correlator()
    for body in memo.kube.list("incidents"):
        incident = incidents.remembered(body)
        if incident is not None:
            memo.correlator.remember(incident)


@kopf.index(GROUP, VERSION, "silences")
def silences(namespace: str | None, body: kopf.Body, **_: Any) -> dict[str, Silence]:
    """Silences by namespace (the platform namespace's apply to every company)."""
    return {namespace or "": Silence.from_body(body)}


@kopf.on.resume(GROUP, VERSION, "alerts")
@kopf.on.create(GROUP, VERSION, "alerts")
@kopf.on.update(GROUP, VERSION, "alerts", field="spec")
def correlate(
    body: kopf.Body,
    status: kopf.Status,
    namespace: str | None,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Join or open the incident; record it on the alert (so a rerun changes nothing)."""
    alert = Alert.from_body(body)
    if status.get("incidentRef") or status.get("silencedBy") or alert.spec.state != "firing":
        return
    company = (namespace or "").removeprefix("company-")
    facts = company_of(kwargs["company_facts"], company)
    if facts is None:
        raise kopf.TemporaryError(f"company {company!r} is not known yet", delay=10)
    fact = AlertFacts(
        company=company,
        name=alert.metadata.name,
        asset=alert.spec.asset.name,
        signal=alert.spec.signal,
        category=alert.spec.labels.get("signal_category", "other"),
        severity=alert.spec.severity,
        source=alert.spec.source,
        at=alert.spec.first_seen,
    )
    index: kopf.Index[str, Silence] = kwargs["silences"]
    candidates = [*index.get(namespace or "", []), *index.get(PLATFORM_NAMESPACE, [])]
    fields = {
        **alert.spec.labels,
        "asset": fact.asset,
        "signal": fact.signal,
        "severity": fact.severity,
        "source": fact.source,
    }
    silence = silenced_by(candidates, fields=fields, at=fact.at)
    if silence is not None:
        patch.status["silencedBy"] = f"{silence.metadata.namespace}/{silence.metadata.name}"
        return
    with LOCK:
        decision = memo.correlator.decide(
            fact,
            new_name=f"inc-{alert.spec.fingerprint}",
            window=facts.window,
            depends_on=facts.depends_on,
        )
        incident = next(
            i for i in memo.correlator.open_incidents(company) if i.name == decision.incident
        )
        if decision.new:
            # A conflict means it was made before a restart: the status write brings it up to date.
            with contextlib.suppress(ConflictError):
                memo.kube.create(
                    "incidents", incidents.new_incident_body(incident, namespace or ""), namespace
                )
        memo.kube.patch_status(
            "incidents",
            incident.name,
            incidents.incident_status(
                incident, critical_assets=facts.critical, latest=alert.metadata.name
            ),
            namespace,
        )
    patch.status["incidentRef"] = {"name": incident.name}
