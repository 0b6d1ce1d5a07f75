"""What the application holds while it runs: clients, registry, writer, limiter, metrics."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from whisperer.api.ingest import Ingestor
from whisperer.api.metrics import Metrics
from whisperer.api.ratelimit import RateLimiter
from whisperer.api.registry import Registry
from whisperer.api.tls import ReloadingTLS
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube

SNS_CERT_HOSTS = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


@dataclass
class Settings:
    """Knobs, from the command line or the environment."""

    max_body_bytes: int = 10 * 1024 * 1024
    write_timeout: float = 10.0
    hot_linger: float = 0.1
    """Seconds a storming fingerprint first gathers reports between writes (group commit)."""
    max_linger: float = 0.5
    """The longest a storming fingerprint's window grows to."""
    commit_budget: float = 1.0
    """Seconds an answer should take at most: windows shrink below `max_linger` when the
    API server's writes are slow, to fit a window and two writes in it."""
    registry_refresh: float = 5.0
    sns_cert_hosts: re.Pattern[str] = SNS_CERT_HOSTS
    sns_verify: bool = True
    tls_cert: str | None = None
    """PEM certificate (chain) to serve https with; with `tls_key`. None: plain http."""
    tls_key: str | None = None
    """PEM private key of `tls_cert`."""
    tls_reload_seconds: float = 10.0
    """How often the TLS files are checked for a change (a renewed certificate)."""


@dataclass
class ShimState:
    """Everything a request handler may need, made at startup."""

    settings: Settings
    kube: KubeClient
    akube: AsyncKube
    registry: Registry
    ingestor: Ingestor
    limiter: RateLimiter = field(default_factory=RateLimiter)
    metrics: Metrics = field(default_factory=Metrics)
    fetch: Callable[[str], bytes] | None = None
    """How to GET a URL (SNS certificates and subscription confirmations); None: urllib."""
    tls: ReloadingTLS | None = None
    """The served certificate, reloaded by the app's lifespan when its files change."""
