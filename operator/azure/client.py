"""The door to Azure: a service principal's credential and a compute client per
subscription, made once and kept, and azure-core's errors translated into ours, once."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient

from whisperer.operator.azure.settings import AzureSettings
from whisperer.operator.errors import (
    ForbiddenError,
    InvalidError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    UnavailableError,
    WhispererError,
)

MAX_CLIENTS = 256


@dataclass(frozen=True)
class ServicePrincipal:
    """An Entra ID application the company consented to (values from the Secret the Company
    names)."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)

    def key(self) -> str:
        """A cache key that does not hold the secret."""
        digest = hashlib.sha256(self.client_secret.encode("utf-8")).hexdigest()[:16]
        return f"{self.tenant_id}/{self.client_id}/{digest}"


def error_code(exc: HttpResponseError) -> str:
    """ARM's `error.code` (`{"error": {"code", "message"}}`), or ''."""
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "")


def error_message(exc: HttpResponseError) -> str:
    """ARM's `error.message` (or the exception's text), bounded."""
    error = getattr(exc, "error", None)
    return str(getattr(error, "message", "") or exc.message or exc)[:500]


def retry_after(exc: HttpResponseError, default: float) -> float:
    """The answer's Retry-After in seconds (ARM sends it on 429), else `default`."""
    headers = getattr(exc.response, "headers", None) or {}
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def translate(exc: Exception, *, action: str, settings: AzureSettings) -> WhispererError:
    """Our error for `exc` from `action`: 429 throttled, 5xx and lost connections temporary,
    401/403 forbidden, 404 not found, other 4xx permanent."""
    if isinstance(exc, ClientAuthenticationError) and exc.status_code in (None, 400, 401):
        return ForbiddenError(f"{action}: the service principal was refused: {exc.message}"[:500])
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        status = exc.status_code
        text = f"{action} failed: {status} {error_code(exc)}: {error_message(exc)}"
        if status == 429:
            return ThrottledError(text, delay=retry_after(exc, settings.throttle_delay))
        if status >= 500 or status == 408:
            return UnavailableError(text)
        if status in (401, 403):
            return ForbiddenError(text)
        if status == 404:
            return NotFoundError(text)
        if status == 400:
            return InvalidError(text)
        return PermanentError(text)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return UnavailableError(f"{action}: cannot reach Azure: {exc}"[:500])
    if isinstance(exc, AzureError):
        return UnavailableError(f"{action}: {exc}"[:500])
    return PermanentError(f"{action}: unexpected {type(exc).__name__}: {exc}"[:500])


class Azure:
    """Credentials and clients; thread-safe."""

    def __init__(self, settings: AzureSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._credentials: dict[str, ClientSecretCredential] = {}
        self._clients: dict[tuple[str, str], ComputeManagementClient] = {}

    def _transport_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "connection_timeout": self.settings.connect_timeout,
            "read_timeout": self.settings.read_timeout,
        }
        if self.settings.ca_bundle:
            options["connection_verify"] = self.settings.ca_bundle
        return options

    def credential(self, principal: ServicePrincipal) -> ClientSecretCredential:
        """The principal's credential (it caches its tokens until shortly before expiry)."""
        key = principal.key()
        with self._lock:
            credential = self._credentials.get(key)
            if credential is None:
                credential = ClientSecretCredential(
                    principal.tenant_id,
                    principal.client_id,
                    principal.client_secret,
                    authority=self.settings.authority_host,
                    disable_instance_discovery=self.settings.disable_instance_discovery,
                    **self._transport_options(),
                )
                self._credentials[key] = credential
            return credential

    def compute(self, principal: ServicePrincipal, subscription_id: str) -> ComputeManagementClient:
        """A compute client on the configured ARM endpoint for one subscription."""
        key = (principal.key(), subscription_id)
        credential = self.credential(principal)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = ComputeManagementClient(
                    credential,
                    subscription_id,
                    base_url=self.settings.arm_endpoint,
                    credential_scopes=[self.settings.arm_scope],
                    retry_total=self.settings.read_retries,
                    **self._transport_options(),
                )
                if len(self._clients) >= MAX_CLIENTS:
                    self._clients.pop(next(iter(self._clients))).close()
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Close every client and credential (at shutdown)."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            for credential in self._credentials.values():
                credential.close()
            self._clients.clear()
            self._credentials.clear()


__all__ = ["Azure", "ServicePrincipal", "error_code", "error_message", "translate"]
