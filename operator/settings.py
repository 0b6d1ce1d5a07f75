"""Every setting of the operator, read once at startup from the environment into one typed
object (`Settings.from_env`); nothing reads the environment anywhere else.

`docs/settings.md` lists each variable; a test checks that the list and this module agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from whisperer.operator.aws.settings import AwsSettings
from whisperer.operator.azure.settings import AzureSettings
from whisperer.operator.environment import number
from whisperer.operator.kube.lease import LeaderElectionSettings
from whisperer.operator.services.analysis import Settings as AISettings
from whisperer.operator.services.notifications.config import NotificationSettings

DEFAULT_WEBHOOK_URL = "http://whisperer-webhook.alert-whisperer.svc:8080"


@dataclass(frozen=True)
class Settings:
    """What the operator is told by its environment (defaults are production's)."""

    webhook_url: str = DEFAULT_WEBHOOK_URL
    """The shim's base URL, written into each Company's status (WHISPERER_WEBHOOK_URL)."""
    credential_sweep_seconds: float = 60.0
    """How often expired API keys are removed (WHISPERER_CREDENTIAL_SWEEP_SECONDS)."""
    alert_sweep_seconds: float = 300.0
    """How often resolved alerts past retention are pruned (WHISPERER_ALERT_SWEEP_SECONDS)."""
    gitsource_tick_seconds: float = 5.0
    """How often GitSources are checked for being due (WHISPERER_GITSOURCE_TICK_SECONDS)."""
    technician_tick_seconds: float = 60.0
    """How often technicians' load and shift are written (WHISPERER_TECHNICIAN_TICK_SECONDS)."""
    report_tick_seconds: float = 3600.0
    """How often companies' monthly report numbers are computed (WHISPERER_REPORT_TICK_SECONDS)."""
    incident_linger_seconds: float = 0.05
    """How long the incident writer lets changes to one incident gather into one write
    (WHISPERER_INCIDENT_LINGER_SECONDS)."""
    incident_hot_linger_seconds: float = 0.5
    """The longest gathering window for an incident that keeps changing (a storm)
    (WHISPERER_INCIDENT_HOT_LINGER_SECONDS)."""
    alerts_in_flight: int = 256
    """Alerts whose writes may be in flight at once before reading more alert events
    (WHISPERER_ALERTS_IN_FLIGHT)."""
    list_page_size: int = 500
    """Objects per page when the operator lists a kind (WHISPERER_LIST_PAGE_SIZE)."""
    ai: AISettings = field(default_factory=AISettings)
    """The optional AI analysis (WHISPERER_AI_*, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)."""
    aws: AwsSettings = field(default_factory=AwsSettings)
    """AWS calls: sessions, timeouts, bounds (WHISPERER_AWS_*; endpoints: AWS_ENDPOINT_URL*)."""
    azure: AzureSettings = field(default_factory=AzureSettings)
    """Azure calls: endpoints, timeouts, bounds (WHISPERER_AZURE_*)."""
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    """Messages: templates, retries, rate limits (WHISPERER_NOTIFY_*)."""
    leader_election: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    """Whether and how the operator elects a leader (WHISPERER_LEADER_ELECTION, _LEASE_*)."""
    remediation_runs_per_company: int = 5
    """Runbook executions of one company acting on their targets at once; more wait
    (WHISPERER_REMEDIATION_RUNS_PER_COMPANY)."""
    test_crash_at: str | None = None
    """Tests only: exit at this point of a run's dispatch (`intent-recorded`, `sent`), so a
    kill test can prove the run sends once (WHISPERER_TEST_CRASH_AT)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (os.environ by default)."""
        env = os.environ if environ is None else environ
        return cls(
            webhook_url=(env.get("WHISPERER_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL).rstrip("/"),
            credential_sweep_seconds=number(
                env, "WHISPERER_CREDENTIAL_SWEEP_SECONDS", 60.0, low=0.1
            ),
            alert_sweep_seconds=number(env, "WHISPERER_ALERT_SWEEP_SECONDS", 300.0, low=0.1),
            gitsource_tick_seconds=number(env, "WHISPERER_GITSOURCE_TICK_SECONDS", 5.0, low=0.1),
            technician_tick_seconds=number(env, "WHISPERER_TECHNICIAN_TICK_SECONDS", 60.0, low=0.1),
            report_tick_seconds=number(env, "WHISPERER_REPORT_TICK_SECONDS", 3600.0, low=0.1),
            incident_linger_seconds=number(
                env, "WHISPERER_INCIDENT_LINGER_SECONDS", 0.05, low=0, high=5
            ),
            incident_hot_linger_seconds=number(
                env, "WHISPERER_INCIDENT_HOT_LINGER_SECONDS", 0.5, low=0, high=10
            ),
            alerts_in_flight=int(number(env, "WHISPERER_ALERTS_IN_FLIGHT", 256, low=1, high=4096)),
            list_page_size=int(number(env, "WHISPERER_LIST_PAGE_SIZE", 500, low=10, high=5000)),
            ai=AISettings.from_env(env),
            aws=AwsSettings.from_env(env),
            azure=AzureSettings.from_env(env),
            notifications=NotificationSettings.from_env(env),
            leader_election=LeaderElectionSettings.from_env(env),
            remediation_runs_per_company=int(
                number(env, "WHISPERER_REMEDIATION_RUNS_PER_COMPANY", 5, low=1, high=1000)
            ),
            test_crash_at=env.get("WHISPERER_TEST_CRASH_AT") or None,
        )


__all__ = ["Settings"]
