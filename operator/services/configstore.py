"""The config the operator decides with, in memory: companies, SLA policies, routing rules,
technicians, runbooks, silences, signal rules, git sources and notification channels, kept
current from watches (the operator's informers) and read through typed accessors, never
through the API server.

Thread-safe: the watches write on the event loop, Kopf's handlers read from their threads.
An object the models refuse (applied by hand past the git syncer's validation) is left out
with a warning, and the last good version of it stays.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from whisperer.operator.models.v1alpha1 import (
    Company,
    GitSource,
    NotificationChannel,
    Resource,
    RoutingRule,
    Runbook,
    SignalRule,
    Silence,
    SLAPolicy,
    Technician,
)
from whisperer.operator.services.assessment import Rules
from whisperer.operator.services.facts import CompanyFacts, facts_of
from whisperer.operator.services.signals import Taxonomy, default_taxonomy
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE, namespace_name

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Resource)
Key = tuple[str, str]  # namespace ("" for cluster-scoped), name

KINDS: dict[str, type[Resource]] = {
    "companies": Company,
    "slapolicies": SLAPolicy,
    "routingrules": RoutingRule,
    "technicians": Technician,
    "runbooks": Runbook,
    "silences": Silence,
    "signalrules": SignalRule,
    "gitsources": GitSource,
    "notificationchannels": NotificationChannel,
}
"""The kinds the store keeps, by plural."""


class ConfigStore:
    """Every config object the operator decides with, by kind and (namespace, name)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, dict[Key, Resource]] = {plural: {} for plural in KINDS}
        self._facts: dict[str, CompanyFacts] = {}
        self._taxonomy: Taxonomy | None = None
        self.listeners: list[Callable[[str, Key], None]] = []
        """Called (plural, key) after each change, e.g. to wake whoever waits on config."""
        self.generation = 0
        """Counts the changes: what is derived from the config may be kept while it holds."""

    # -- keeping it current ------------------------------------------------------------------

    def apply(self, plural: str, event: str, body: Mapping[str, Any]) -> None:
        """A watch event (ADDED, MODIFIED, DELETED) of one of `KINDS`."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        gone = event == "DELETED" or (plural == "companies" and meta.get("deletionTimestamp"))
        model: Resource | None = None
        facts: CompanyFacts | None = None
        if not gone:
            try:
                model = KINDS[plural].from_body(dict(body))
                if isinstance(model, Company):
                    facts = facts_of(model.spec)
            except (ValidationError, ValueError) as exc:
                log.warning("%s %s/%s is not usable, keeping what was known: %s", plural, *key, exc)
                return
        with self._lock:
            objects = dict(self._objects[plural])  # copy on write: readers never see it move
            if model is None:
                objects.pop(key, None)
            else:
                objects[key] = model
            self._objects[plural] = objects
            if plural == "companies":
                facts_by_name = dict(self._facts)
                if facts is None:
                    facts_by_name.pop(key[1], None)
                else:
                    facts_by_name[key[1]] = facts
                self._facts = facts_by_name
            if plural == "signalrules":
                self._taxonomy = None
            self.generation += 1
        for listener in self.listeners:
            listener(plural, key)

    # -- reading -----------------------------------------------------------------------------

    def _all(self, plural: str, kind: type[R]) -> list[R]:
        return [m for m in self._objects[plural].values() if isinstance(m, kind)]

    def company(self, name: str) -> Company | None:
        """A company that exists (and is not being deleted)."""
        found = self._objects["companies"].get(("", name))
        return found if isinstance(found, Company) and name in self._facts else None

    def facts(self, name: str) -> CompanyFacts | None:
        """What correlation, routing and SLA need of a company (None: no such company)."""
        return self._facts.get(name)

    def company_names(self) -> set[str]:
        """The companies that exist."""
        return set(self._facts)

    def sla_policies(self) -> dict[str, SLAPolicy]:
        """The SLA policies, by name."""
        return {m.metadata.name: m for m in self._all("slapolicies", SLAPolicy)}

    def routing_rules(self) -> list[RoutingRule]:
        """Every routing rule."""
        return self._all("routingrules", RoutingRule)

    def technicians(self) -> list[Technician]:
        """Every technician."""
        return self._all("technicians", Technician)

    def technician_names(self) -> set[str]:
        """The technicians' object names."""
        return {t.metadata.name for t in self.technicians()}

    def technicians_serving(self, company: str) -> list[tuple[str, str]]:
        """(Technician name, user name) of those who serve a company."""
        return sorted(
            (t.metadata.name, t.spec.username)
            for t in self.technicians()
            if company in t.spec.companies
        )

    def runbooks_for(self, company: str) -> list[Runbook]:
        """The runbooks a company's incidents may use: its own, then the platform library."""
        own = namespace_name(company)
        return [
            rb
            for rb in self._all("runbooks", Runbook)
            if rb.metadata.namespace in (own, PLATFORM_NAMESPACE)
        ]

    def runbook(self, namespace: str, name: str) -> Runbook | None:
        """One runbook."""
        found = self._objects["runbooks"].get((namespace, name))
        return found if isinstance(found, Runbook) else None

    def silences_for(self, namespace: str) -> list[Silence]:
        """The silences that apply in a namespace: its own and the platform's."""
        return [
            s
            for s in self._all("silences", Silence)
            if s.metadata.namespace in (namespace, PLATFORM_NAMESPACE)
        ]

    def git_sources(self) -> list[GitSource]:
        """Every GitSource."""
        return self._all("gitsources", GitSource)

    def channels(self) -> list[NotificationChannel]:
        """Every NotificationChannel."""
        return self._all("notificationchannels", NotificationChannel)

    def taxonomy(self) -> Taxonomy:
        """The signal taxonomy: the MSP's SignalRules before the built-in rules."""
        found = self._taxonomy
        if found is None:
            rules = self._all("signalrules", SignalRule)
            found = Taxonomy.build(rules) if rules else default_taxonomy()
            self._taxonomy = found
        return found

    def category_of(self, signal: str) -> str:
        """The category the taxonomy gives a canonical signal ("other" when it has none)."""
        return self.taxonomy().category_of(signal)

    def rules_for(self, company: str) -> Rules:
        """The config routing, SLA and remediation decide a company's incidents with."""
        return Rules(
            policies=self.sla_policies(),
            rules=self.routing_rules(),
            technicians=self.technicians(),
            runbooks=self.runbooks_for(company),
        )


__all__ = ["KINDS", "ConfigStore"]
