"""Version v1alpha1 of the alertwhisperer.io API: every kind, in one list."""

from whisperer.operator.models.v1alpha1.alert import Alert, AlertSpec, AlertStatus
from whisperer.operator.models.v1alpha1.common import API_VERSION, CATEGORY, GROUP, VERSION
from whisperer.operator.models.v1alpha1.company import Company, CompanySpec, CompanyStatus
from whisperer.operator.models.v1alpha1.execution import (
    RunbookExecution,
    RunbookExecutionSpec,
    RunbookExecutionStatus,
)
from whisperer.operator.models.v1alpha1.gitsource import GitSource, GitSourceSpec, GitSourceStatus
from whisperer.operator.models.v1alpha1.incident import Incident, IncidentSpec, IncidentStatus
from whisperer.operator.models.v1alpha1.notification import (
    MessageKind,
    NotificationChannel,
    NotificationChannelSpec,
)
from whisperer.operator.models.v1alpha1.resource import Resource
from whisperer.operator.models.v1alpha1.routing import RoutingRule, RoutingRuleSpec
from whisperer.operator.models.v1alpha1.runbook import Runbook, RunbookSpec
from whisperer.operator.models.v1alpha1.signalrule import SignalRule, SignalRuleSpec
from whisperer.operator.models.v1alpha1.silence import Silence, SilenceSpec
from whisperer.operator.models.v1alpha1.sla import SLAPolicy, SLAPolicySpec
from whisperer.operator.models.v1alpha1.technician import Technician, TechnicianSpec

KINDS: tuple[type[Resource], ...] = (
    Company,
    SLAPolicy,
    RoutingRule,
    Technician,
    Runbook,
    Silence,
    SignalRule,
    NotificationChannel,
    GitSource,
    Alert,
    Incident,
    RunbookExecution,
)
"""Every kind of the API, config kinds (written from git) first."""

CONFIG_KINDS: tuple[type[Resource], ...] = (
    Company,
    SLAPolicy,
    RoutingRule,
    Technician,
    Runbook,
    Silence,
    SignalRule,
    NotificationChannel,
)
"""The kinds an MSP admin commits to the config repo."""

KINDS_BY_NAME: dict[str, type[Resource]] = {k.info.kind: k for k in KINDS}

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "CONFIG_KINDS",
    "GROUP",
    "KINDS",
    "KINDS_BY_NAME",
    "VERSION",
    "Alert",
    "AlertSpec",
    "AlertStatus",
    "Company",
    "CompanySpec",
    "CompanyStatus",
    "GitSource",
    "GitSourceSpec",
    "GitSourceStatus",
    "Incident",
    "IncidentSpec",
    "IncidentStatus",
    "MessageKind",
    "NotificationChannel",
    "NotificationChannelSpec",
    "Resource",
    "RoutingRule",
    "RoutingRuleSpec",
    "Runbook",
    "RunbookExecution",
    "RunbookExecutionSpec",
    "RunbookExecutionStatus",
    "RunbookSpec",
    "SLAPolicy",
    "SLAPolicySpec",
    "SignalRule",
    "SignalRuleSpec",
    "Silence",
    "SilenceSpec",
    "Technician",
    "TechnicianSpec",
]
