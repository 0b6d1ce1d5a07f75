"""What the Azure wrapper is configured with, read once at startup (never at import): where
ARM and the login authority are (the public cloud unless told), and timeouts and bounds.

The service principal (tenant, client id, secret) is not here: each Company names a Secret in
the platform namespace and the caller passes its values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from whisperer.operator.environment import flag, https_url, number


@dataclass(frozen=True)
class AzureSettings:
    """Endpoints, timeouts and bounds for every ARM call we make."""

    arm_endpoint: str = "https://management.azure.com"
    """Azure Resource Manager; the token scope is `<arm_endpoint>/.default`."""
    authority_host: str = "https://login.microsoftonline.com"
    """Microsoft Entra ID (the login endpoint)."""
    disable_instance_discovery: bool = False
    """Skip MSAL's authority validation (for Azure Stack or a test stub of the authority)."""
    ca_bundle: str | None = None
    """A PEM file of CAs to trust instead of the system's (a TLS-inspecting proxy, a stub)."""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    read_retries: int = 3
    """azure-core retries for reads (GET); a PUT that starts a command is never retried by
    the SDK (the next `start` looks it up by name first)."""
    busy_delay: float = 15.0
    """The delay a BusyError carries (another run command in progress on the VM)."""
    throttle_delay: float = 10.0
    """The delay a ThrottledError carries when ARM sends no Retry-After."""
    tail_chars: int = 2000
    """The most characters kept of a run's stdout, and again of its stderr (the end)."""

    @property
    def arm_scope(self) -> str:
        """The OAuth scope for ARM."""
        return f"{self.arm_endpoint}/.default"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AzureSettings:
        """The WHISPERER_AZURE_* settings in `environ` (os.environ by default)."""
        env = os.environ if environ is None else environ
        return cls(
            arm_endpoint=https_url(env, "WHISPERER_AZURE_ARM_ENDPOINT", cls.arm_endpoint),
            authority_host=https_url(env, "WHISPERER_AZURE_AUTHORITY_HOST", cls.authority_host),
            disable_instance_discovery=flag(env, "WHISPERER_AZURE_DISABLE_INSTANCE_DISCOVERY"),
            ca_bundle=env.get("WHISPERER_AZURE_CA_BUNDLE") or None,
            connect_timeout=number(
                env, "WHISPERER_AZURE_CONNECT_TIMEOUT_SECONDS", 5.0, low=0.1, high=120
            ),
            read_timeout=number(
                env, "WHISPERER_AZURE_READ_TIMEOUT_SECONDS", 30.0, low=0.1, high=300
            ),
            read_retries=int(number(env, "WHISPERER_AZURE_READ_RETRIES", 3, low=0, high=10)),
            busy_delay=number(env, "WHISPERER_AZURE_BUSY_DELAY_SECONDS", 15.0, low=0, high=600),
            throttle_delay=number(
                env, "WHISPERER_AZURE_THROTTLE_DELAY_SECONDS", 10.0, low=0, high=600
            ),
            tail_chars=int(
                number(env, "WHISPERER_AZURE_OUTPUT_TAIL_CHARS", 2000, low=100, high=4096)
            ),
        )


__all__ = ["AzureSettings"]
