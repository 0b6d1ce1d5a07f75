"""The notification settings, read once at startup from WHISPERER_NOTIFY_* variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from whisperer.operator.environment import number
from whisperer.operator.services.notifications.retry import RetryPolicy


def _seconds(environ: Mapping[str, str], name: str, default: float) -> timedelta:
    return timedelta(seconds=number(environ, name, default, low=0.001))


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    return int(number(environ, name, default, low=1))


@dataclass(frozen=True)
class NotificationSettings:
    """Templates, retries, rate limits, the MSP admins' addresses and extra trust for TLS."""

    templates_dir: Path | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_burst: int = 10
    rate_every: timedelta = timedelta(seconds=60)
    msp_admins: tuple[str, ...] = ()
    ca_file: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> NotificationSettings:
        """From the environment (docs/notifications.md lists the variables)."""
        templates = environ.get("WHISPERER_NOTIFY_TEMPLATES_DIR", "")
        admins = environ.get("WHISPERER_NOTIFY_MSP_ADMINS", "")
        return cls(
            templates_dir=Path(templates) if templates else None,
            retry=RetryPolicy(
                first=_seconds(environ, "WHISPERER_NOTIFY_RETRY_FIRST_SECONDS", 30),
                cap=_seconds(environ, "WHISPERER_NOTIFY_RETRY_MAX_SECONDS", 1800),
                attempts=_int(environ, "WHISPERER_NOTIFY_RETRY_ATTEMPTS", 8),
            ),
            rate_burst=_int(environ, "WHISPERER_NOTIFY_RATE_BURST", 10),
            rate_every=_seconds(environ, "WHISPERER_NOTIFY_RATE_EVERY_SECONDS", 60),
            msp_admins=tuple(a.strip() for a in admins.split(",") if a.strip()),
            ca_file=environ.get("WHISPERER_NOTIFY_CA_FILE") or None,
        )
