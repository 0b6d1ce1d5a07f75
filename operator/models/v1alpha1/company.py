"""Company: one client of the MSP, with its assets, cloud accounts and webhook settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator

from whisperer.operator.models.v1alpha1.alert import SourceTool
from whisperer.operator.models.v1alpha1.common import (
    DURATION,
    Email,
    LocalObjectReference,
    Matcher,
    Name,
    PhoneNumber,
    PrinterColumn,
    ResourceInfo,
    Schema,
    ShortText,
    StatusBase,
    Tags,
    UserName,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.report import MonthlySummary
from whisperer.operator.models.v1alpha1.resource import Resource


class Contact(Schema):
    """A person at the client the MSP talks to."""

    name: ShortText = Field(description="The contact's full name.")
    email: Email = Field(description="The contact's email address.")
    phone: PhoneNumber | None = Field(default=None, description="E.164 phone number.")
    role: Literal["primary", "technical", "billing", "escalation"] = Field(
        default="technical", description="What the contact is for."
    )


class AssetKind(enum.StrEnum):
    """What an asset is."""

    SERVER = "server"
    VM = "vm"
    DATABASE = "database"
    SERVICE = "service"
    NETWORK = "network"
    STORAGE = "storage"
    CONTAINER = "container"
    OTHER = "other"


ASSET_RULES: list[JsonValue] = [
    {
        "rule": "self.cloud != 'aws' || has(self.instanceId) || self.kind != 'server' "
        "&& self.kind != 'vm'",
        "message": "an AWS server or vm needs instanceId (SSM runs commands by instance id)",
    },
    {
        "rule": "self.cloud != 'azure' || has(self.resourceId) || self.kind != 'server' "
        "&& self.kind != 'vm'",
        "message": "an Azure server or vm needs resourceId (Run Command targets a resource id)",
    },
    {
        "rule": "!has(self.dependsOn) || !(self.name in self.dependsOn)",
        "message": "an asset cannot depend on itself",
    },
]


class Asset(Schema):
    """One thing the MSP monitors for the client; every alert is resolved to one of these."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": ASSET_RULES})

    name: Name = Field(description="The asset's name, unique within the company.")
    kind: AssetKind = Field(default=AssetKind.SERVER, description="What the asset is.")
    platform: Literal["linux", "windows", "other"] = Field(
        default="linux", description="The operating system, which decides the runbook shell."
    )
    cloud: Literal["aws", "azure", "onprem"] = Field(
        default="onprem", description="Where the asset runs."
    )
    instance_id: str | None = Field(
        default=None,
        pattern=r"^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$",
        description="The EC2 or SSM managed-instance id, for AWS assets.",
    )
    resource_id: str | None = Field(
        default=None,
        pattern=r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/.+$",
        max_length=1024,
        description="The Azure resource id, for Azure assets.",
    )
    region: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$|^[a-z]+[0-9]?$",
        max_length=32,
        description="The cloud region (us-east-1, westeurope).",
    )
    hostnames: list[ShortText] = Field(
        default_factory=list, max_length=8, description="Host names monitoring tools use."
    )
    ip_addresses: list[Annotated[str, Field(max_length=45)]] = Field(
        default_factory=list, max_length=8, description="IP addresses monitoring tools use."
    )
    critical: bool = Field(default=False, description="Whether an outage of it is critical.")
    tags: Tags = Field(default_factory=dict)
    depends_on: list[Name] = Field(
        default_factory=list,
        max_length=16,
        description="Assets this one needs: a host down takes what depends on it down too.",
    )


AWS_ACCOUNT_RULES: list[JsonValue] = [
    {
        "rule": "self.roleArn.split(':')[4] == self.accountId",
        "message": "roleArn must be a role in accountId",
    }
]


class AwsAccount(Schema):
    """An AWS account we reach by assuming a role with our external id."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": AWS_ACCOUNT_RULES})

    account_id: str = Field(pattern=r"^[0-9]{12}$", description="The 12-digit account id.")
    role_arn: str = Field(
        pattern=r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,200}$",
        max_length=256,
        description="The role the operator assumes; its trust policy names our external id.",
    )
    regions: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Regions where the client has assets.",
        json_schema_extra={"items": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]$"}},
    )


class AzureSubscription(Schema):
    """An Azure subscription we reach through a service principal."""

    subscription_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
        description="The subscription id.",
    )
    tenant_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
        description="The Entra ID tenant id.",
    )
    credentials_secret: str | None = Field(
        default=None,
        max_length=253,
        description="The Secret in the platform namespace with the service principal "
        "(clientId, clientSecret; tenantId defaults to tenantId above).",
    )


class CloudAccounts(Schema):
    """The client's cloud accounts, for remote remediation."""

    aws: list[AwsAccount] = Field(
        default_factory=list,
        max_length=16,
        description="AWS accounts.",
    )
    azure: list[AzureSubscription] = Field(
        default_factory=list, max_length=16, description="Azure subscriptions."
    )


class RateLimit(Schema):
    """A token bucket for the company's webhook."""

    requests_per_second: int = Field(default=50, ge=1, le=10000, description="Refill rate.")
    burst: int = Field(default=200, ge=1, le=100000, description="Bucket size.")
    over_limit_status: Literal[503, 429] = Field(
        default=503,
        description="The status over the limit: 503 (every sender retries it) or 429 (only "
        "for senders that retry 429).",
    )


SnsTopicArn = Annotated[
    str,
    Field(
        max_length=256,
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$",
    ),
]


class SnsSettings(Schema):
    """What the shim accepts from Amazon SNS for this company."""

    allow_signature_v1: bool = Field(
        default=False,
        description="Accept SNS messages signed with SignatureVersion 1 (RSA over SHA1, the "
        "topic default). Off: set the topic's SignatureVersion attribute to 2 (SHA256).",
    )
    topic_arns: list[SnsTopicArn] = Field(
        default_factory=list,
        max_length=50,
        description="The SNS topics whose messages (and subscription confirmations) are "
        "accepted; empty: any topic.",
    )


class WebhookSettings(Schema):
    """How the company's monitoring tools reach us."""

    require_signature: bool = Field(
        default=False, description="Whether every request must carry a valid HMAC signature."
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit, description="The rate limit.")
    max_body_bytes: int = Field(
        default=1048576, ge=1024, le=10485760, description="The largest accepted body."
    )
    key_rotation_grace: str = Field(
        default="24h",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="After a rotation, how long the previous API key and HMAC secret stay valid.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) <= duration('720h')",
                    "message": "keyRotationGrace must be at most 720h (30 days)",
                }
            ]
        },
    )
    sns: SnsSettings = Field(
        default_factory=SnsSettings, description="Amazon SNS signature versions and topics."
    )


class CircuitBreaker(Schema):
    """When automatic runs keep failing, stop starting them until an MSP admin has looked."""

    enabled: bool = Field(default=True, description="Whether failures pause automatic runs.")
    failure_threshold: int = Field(
        default=3,
        ge=1,
        le=100,
        description="This many automatic runs failed (or ineffective) within `window` pause "
        "automatic runs for the company.",
    )
    window: str = Field(
        default="1h", pattern=DURATION, description="How far back failures are counted."
    )


class RemediationSettings(Schema):
    """What the operator may fix by itself for this company."""

    auto_run_low_risk: bool = Field(
        default=False, description="Start low-risk runbooks without asking anyone."
    )
    allow_medium_risk_by_company_admin: bool = Field(
        default=True, description="Whether the company's own admins may approve medium risk."
    )
    approval_timeout: str = Field(
        default="4h",
        pattern=DURATION,
        description="How long a run waits for approval before it expires (phase Expired).",
    )
    circuit_breaker: CircuitBreaker = Field(
        default_factory=CircuitBreaker,
        description="Pause automatic runs when too many of them fail (resumed by an MSP admin "
        "with the alertwhisperer.io/resume-auto-remediation annotation).",
    )


class InhibitRule(Schema):
    """Alertmanager-style inhibition: while an alert matching `sourceMatchers` fires, alerts
    matching `targetMatchers` (with the same values of the `equal` labels) are muted."""

    source_matchers: list[Matcher] = Field(
        min_length=1, max_length=8, description="What the muting alert looks like."
    )
    target_matchers: list[Matcher] = Field(
        min_length=1, max_length=8, description="What the muted alerts look like."
    )
    equal: list[Annotated[str, Field(max_length=128)]] = Field(
        default_factory=list,
        max_length=8,
        description="Labels (or asset, signal, severity, source) both must share.",
    )


STALE_SOURCES = tuple(str(tool) for tool in SourceTool)
"""The tools `staleAfter` may name: the Alert's sources."""


class IncidentSettings(Schema):
    """How alerts become incidents for this company."""

    inhibit_rules: list[InhibitRule] = Field(
        default_factory=list, max_length=20, description="Inhibition rules."
    )

    aggregation_window: str = Field(
        default="15m",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="Alerts of one asset and signal within this window join one incident.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('1m') && duration(self) <= duration('24h')",
                    "message": "aggregationWindow must be between 1m and 24h",
                }
            ]
        },
    )
    auto_resolve: bool = Field(
        default=True, description="Resolve an incident once all its alerts have resolved."
    )
    auto_resolve_hold_down: str = Field(
        default="5m",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="How long every alert must stay resolved before the incident resolves "
        "by itself (so a flapping alert does not close and reopen it every minute).",
    )
    reopen_window: str = Field(
        default="1h",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="A recurrence this soon after an incident resolved reopens it instead of "
        "opening a new one.",
    )
    storm_threshold: int = Field(
        default=20,
        ge=5,
        le=100000,
        description="Alerts of the company within one minute (event time) that make a storm: "
        "further alerts with the same signal join one storm incident.",
    )
    flap_threshold: int = Field(
        default=4,
        ge=2,
        le=100,
        description="Changes of state (firing to resolved or back) of one alert within "
        "flapWindow that mark its incident flapping: it then resolves only after a whole "
        "flapWindow of quiet.",
    )
    flap_window: str = Field(
        default="1h",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="The window (event time) in which flapThreshold changes mark flapping.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('1m') && duration(self) <= duration('24h')",
                    "message": "flapWindow must be between 1m and 24h",
                }
            ]
        },
    )
    alert_retention: str = Field(
        default="168h",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="How long resolved alerts are kept before they are pruned.",
    )
    stale_after: dict[
        str,
        Annotated[str, Field(pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")],
    ] = Field(
        default_factory=dict,
        max_length=8,
        description="Per source tool: a firing alert not reported again within this long "
        "(event time) resolves as stale (`0s`: never). Unset tools keep the defaults "
        "(docs/correlation.md: point-event sources 30m, tools that send resolutions never).",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, k in " + str(list(STALE_SOURCES)) + ")",
                    "message": "staleAfter keys are source tools: " + ", ".join(STALE_SOURCES),
                }
            ]
        },
    )

    @field_validator("stale_after")
    @classmethod
    def _known_sources(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(STALE_SOURCES))
        if unknown:
            raise ValueError(f"staleAfter keys are source tools, not {', '.join(unknown)}")
        return value

    noise_signals: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=list,
        max_length=100,
        description="Canonical signals the company knows as noise: while only low or info "
        "alerts of them make an incident, it pages nobody (it stays visible and counted).",
    )
    host_window: str = Field(
        default="0s",
        pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
        description="Low and info alerts of different signals on one asset within this long "
        "of an open low incident on that asset (not known noise) join it (pattern host); "
        "`0s`: off, the default (docs/correlation.md says why).",
    )


class CompanySpec(Schema):
    """What the MSP admin says about a client (from git)."""

    display_name: ShortText = Field(min_length=1, description="The client's name as people say it.")
    sla_policy_ref: LocalObjectReference = Field(description="The SLAPolicy this client has.")
    contacts: list[Contact] = Field(default_factory=list, max_length=20, description="Contacts.")
    admins: list[UserName] = Field(
        default_factory=list,
        max_length=20,
        description="Kubernetes users who administer this company (company admins).",
    )
    viewers: list[UserName] = Field(
        default_factory=list,
        max_length=50,
        description="Kubernetes users of the client's own staff who may read the company's "
        "incidents, alerts, runs and reports, and do nothing (company viewers).",
    )
    cloud: CloudAccounts = Field(default_factory=CloudAccounts, description="Cloud accounts.")
    assets: list[Asset] = Field(
        default_factory=list,
        max_length=500,
        description="The asset inventory.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="Webhook.")
    remediation: RemediationSettings = Field(
        default_factory=RemediationSettings, description="Remediation policy."
    )
    incidents: IncidentSettings = Field(
        default_factory=IncidentSettings, description="Correlation settings."
    )
    suspended: bool = Field(
        default=False, description="A suspended company's webhook calls are refused (403)."
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain",
        description="On deletion, Retain keeps the namespace and its history; Delete removes them.",
    )


class AutoRemediationState(Schema):
    """The circuit breaker's state (its only writer is the operator's breaker)."""

    paused: bool = Field(default=False, description="Whether automatic runs are paused.")
    paused_at: datetime | None = Field(default=None, description="When they were paused.")
    message: str = Field(default="", max_length=1024, description="Why (the failed runs).")
    failed_runs: list[Name] = Field(
        default_factory=list, max_length=100, description="The runs that tripped it."
    )
    resumed: str | None = Field(
        default=None,
        max_length=253,
        description="The last resume request carried out (the value of the "
        "alertwhisperer.io/resume-auto-remediation annotation).",
    )
    resumed_at: datetime | None = Field(
        default=None, description="When; failures before it are not counted again."
    )


class CompanyStatus(StatusBase):
    """What the operator made of the company."""

    namespace: str | None = Field(default=None, description="The company's namespace.")
    webhook_url: str | None = Field(default=None, description="Where its tools post alerts.")
    credentials_secret: str | None = Field(
        default=None, description="The Secret (platform namespace) with the API key and HMAC."
    )
    external_id: str | None = Field(
        default=None, description="The AWS external id to put in the role's trust policy."
    )
    rotation: str | None = Field(
        default=None,
        max_length=253,
        description="The last credentials rotation request carried out (the value of the "
        "alertwhisperer.io/rotate-credentials annotation).",
    )
    open_incidents: int | None = Field(default=None, ge=0, description="Open incidents now.")
    auto_remediation: AutoRemediationState | None = Field(
        default=None, description="Whether automatic runs are paused (the circuit breaker)."
    )
    monthly_reports: list[MonthlySummary] = Field(
        default_factory=list,
        max_length=24,
        description="The last 24 months' report numbers (the reporting job writes them).",
    )


class Company(Resource):
    """A client of the MSP."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Company",
        plural="companies",
        singular="company",
        short_names=["co"],
        namespaced=False,
        description="A client of the MSP: its namespace, contacts, SLA policy, cloud accounts "
        "and asset inventory.",
        columns=[
            PrinterColumn(name="Display", json_path=".spec.displayName"),
            PrinterColumn(name="SLA", json_path=".spec.slaPolicyRef.name"),
            PrinterColumn(name="Namespace", json_path=".status.namespace"),
            PrinterColumn(
                name="Suspended", json_path=".spec.suspended", type="boolean", priority=1
            ),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "Company"
    spec: CompanySpec
    status: CompanyStatus | None = None


# Names used by other modules.
__all__ = [
    "Asset",
    "AutoRemediationState",
    "CircuitBreaker",
    "Company",
    "CompanySpec",
    "CompanyStatus",
    "Name",
]
