"""What the shim knows of each company (its key hashes, settings and inventory) and the
signal taxonomy (the built-in one behind the MSP's SignalRules).

Kept in memory from the Company objects, the credentials Secrets and the SignalRules,
refreshed every few seconds and at once when an unknown key arrives (a key rotated a moment
ago), so a request costs no API server round trip to authenticate or classify.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass

from whisperer.operator.errors import WhispererError
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import Company, SignalRule
from whisperer.operator.services.assets import Inventory
from whisperer.operator.services.credentials import Credentials
from whisperer.operator.services.signals import Skipped, Taxonomy, default_taxonomy
from whisperer.operator.services.tenancy import (
    COMPANY_LABEL,
    PLATFORM_NAMESPACE,
    credentials_secret_name,
    namespace_name,
)

log = logging.getLogger(__name__)


def key_hash(key: str) -> str:
    """What the registry indexes keys by: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Tenant:
    """One company, as the shim needs it on every request."""

    company: Company
    credentials: Credentials
    inventory: Inventory

    @property
    def name(self) -> str:
        """The company's name."""
        return self.company.metadata.name

    @property
    def namespace(self) -> str:
        """Where its Alerts go."""
        return namespace_name(self.name)


class Registry:
    """Companies by API key hash, and the taxonomy, refreshed from the API server."""

    def __init__(self, kube: KubeClient, *, refresh_seconds: float = 5.0) -> None:
        self._kube = kube
        self._refresh_seconds = refresh_seconds
        self._by_key: dict[str, Tenant] = {}
        self._last_forced = 0.0
        self._lock = asyncio.Lock()
        self.healthy = False
        self.taxonomy: Taxonomy = default_taxonomy()
        """What the shim classifies alert names with; the last good one if a reload fails."""
        self._versions: list[tuple[str, str]] | None = None

    def _load(self) -> dict[str, Tenant]:
        companies = {c["metadata"]["name"]: c for c in self._kube.list("companies")}
        secrets = self._kube.list_secrets(PLATFORM_NAMESPACE, label_selector=COMPANY_LABEL)
        by_key: dict[str, Tenant] = {}
        by_secret: dict[str, dict[str, str]] = dict(secrets)
        for name, body in companies.items():
            data = by_secret.get(credentials_secret_name(name))
            if data is None:
                continue
            try:
                company = Company.from_body(body)
                creds = Credentials.from_secret_data(data)
            except (KeyError, ValueError) as exc:
                log.warning("skipping company %s: %s", name, exc)
                continue
            tenant = Tenant(company, creds, Inventory(company.spec.assets))
            for key in creds.api_keys:
                by_key[key_hash(key.value)] = tenant
        return by_key

    def _load_taxonomy(self) -> Taxonomy:
        bodies = self._kube.list("signalrules")
        versions = sorted(
            (b["metadata"]["name"], b["metadata"].get("resourceVersion", "")) for b in bodies
        )
        if versions == self._versions:  # unchanged: keep the compiled rules and their cache
            return self.taxonomy
        rules: list[SignalRule] = []
        skipped: list[Skipped] = []
        for body in bodies:
            try:
                rules.append(SignalRule.from_body(body))
            except ValueError as exc:  # valid for the API server, not for Python's `re`
                skipped.append(Skipped(body["metadata"]["name"], str(exc).replace("\n", " ")))
        taxonomy = Taxonomy.build(rules)
        for rule in (*skipped, *taxonomy.skipped):
            log.warning("skipping SignalRule %s: %s", rule.name, rule.reason)
        self._versions = versions
        return taxonomy

    async def refresh(self) -> None:
        """Reload everything (in a thread: the client is synchronous)."""
        async with self._lock:
            try:
                self._by_key = await asyncio.to_thread(self._load)
                self.healthy = True
            except WhispererError as exc:
                self.healthy = False
                log.warning("could not refresh the company registry: %s", exc)
            try:  # alerts are still classified (by the last good taxonomy) if this fails
                self.taxonomy = await asyncio.to_thread(self._load_taxonomy)
            except WhispererError as exc:
                log.warning("could not refresh the SignalRules: %s", exc)

    async def run(self) -> None:
        """Refresh forever (cancelled at shutdown)."""
        while True:
            await self.refresh()
            await asyncio.sleep(self._refresh_seconds)

    async def refresh_if_stale(self, *, age: float = 1.0) -> bool:
        """Refresh now (something looked rotated), at most once per `age` seconds whatever
        the periodic refresh does, so bad requests cannot hammer the API server."""
        if time.monotonic() - self._last_forced <= age:
            return False
        self._last_forced = time.monotonic()
        await self.refresh()
        return True

    def known(self, key: str) -> Tenant | None:
        """The tenant of a key as the registry holds it now (no refresh, no expiry check)."""
        return self._by_key.get(key_hash(key))

    async def authenticate(self, key: str) -> Tenant | None:
        """The tenant a presented key belongs to, if the key is valid now."""
        tenant = self._by_key.get(key_hash(key))
        if tenant is None and await self.refresh_if_stale():  # a key issued a moment ago
            tenant = self._by_key.get(key_hash(key))
        if tenant is None or not tenant.credentials.accepts_api_key(key):
            return None
        return tenant
