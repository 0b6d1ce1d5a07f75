"""NotificationChannel: where messages go (SMTP or SES email, Slack- or Teams-compatible chat, a
signed generic webhook, SMS); its secrets stay in Secrets of the platform namespace."""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, JsonValue, model_validator

from whisperer.operator.models.v1alpha1.common import (
    DURATION,
    Email,
    Name,
    PrinterColumn,
    ResourceInfo,
    Schema,
    Severity,
    ShortText,
    StatusBase,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource

HOST = (
    r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$"
    r"|^[0-9a-fA-F:.]+$"
)
URL = r"^https?://[^\s/?#]+([/?#][^\s]*)?$"
AWS_REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"

CHANNEL_TYPES = ("smtp", "ses", "slack", "teams", "webhook", "sms")
EMAIL_TYPES = ("smtp", "ses")
ROOM_TYPES = ("slack", "teams", "webhook")


class MessageKind(enum.StrEnum):
    """What a message is about; each has its own template and its own outbox entries."""

    ASSIGNED = "assigned"
    SLA_WARNING = "sla-warning"
    SLA_BREACH = "sla-breach"
    ESCALATION = "escalation"
    APPROVAL_REQUIRED = "approval-required"
    RUN_FAILED = "run-failed"
    RUN_INEFFECTIVE = "run-ineffective"
    RESOLVED = "resolved"


def _timeout(default: str, most: str) -> Any:
    """A Go duration between 1s and `most`."""
    return Field(
        default=default,
        pattern=DURATION,
        max_length=32,
        description=f"How long one attempt may take before it counts as a temporary failure "
        f"(1s to {most}).",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('1s') "
                    f"&& duration(self) <= duration('{most}')",
                    "message": f"timeout must be between 1s and {most}",
                }
            ]
        },
    )


class SecretKeyReference(Schema):
    """One value of a Secret in the platform namespace (`alert-whisperer`)."""

    name: Name = Field(description="The Secret's name, in the platform namespace.")
    key: str = Field(
        pattern=SECRET_KEY, max_length=253, description="The key of the value in the Secret."
    )


class SmtpSecretReference(Schema):
    """A Secret in the platform namespace whose `username` and `password` values log in."""

    name: Name = Field(
        description="The Secret's name, in the platform namespace; its values `username` and "
        "`password` are used to log in (AUTH) after TLS is up."
    )


SMTP_RULES: list[JsonValue] = [
    {
        "rule": "self.tls != 'none' || !has(self.secretRef)",
        "message": "a password is never sent over an unencrypted connection: with secretRef, "
        "set tls to starttls or tls",
    }
]


class SmtpChannel(Schema):
    """Email through an SMTP relay (the MSP's own, Microsoft 365, Google Workspace...)."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": SMTP_RULES})

    host: str = Field(pattern=HOST, max_length=253, description="The relay's host name or IP.")
    port: int = Field(
        default=587, ge=1, le=65535, description="The port (587 submission, 465 implicit TLS)."
    )
    sender: Email = Field(alias="from", description="The envelope and header From address.")
    from_name: ShortText = Field(
        default="", description="The display name of the From header (e.g. Northwind NOC)."
    )
    tls: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description="none: plain SMTP (an internal relay only); starttls: upgrade after "
        "connecting (refused if the server does not offer it); tls: TLS from the first byte "
        "(port 465). The server's certificate is always verified.",
    )
    secret_ref: SmtpSecretReference | None = Field(
        default=None, description="Credentials, when the relay needs a login."
    )
    timeout: str = _timeout("30s", "120s")


class SesChannel(Schema):
    """Email through Amazon SES (API v2), with the operator's own AWS credentials."""

    sender: Email = Field(alias="from", description="A verified SES identity to send from.")
    from_name: ShortText = Field(default="", description="The display name of the From header.")
    region: str = Field(pattern=AWS_REGION, description="The SES region (e.g. us-east-1).")
    configuration_set: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="An SES configuration set (event publishing, dedicated IPs).",
    )


class SlackChannel(Schema):
    """A Slack (or Slack-compatible: Mattermost, Rocket.Chat) incoming webhook."""

    url_secret_ref: SecretKeyReference = Field(
        description="The Secret value holding the webhook URL (the URL is the credential)."
    )
    timeout: str = _timeout("10s", "30s")


class TeamsChannel(Schema):
    """A Microsoft Teams incoming webhook (a Workflows webhook, or a legacy connector)."""

    url_secret_ref: SecretKeyReference = Field(
        description="The Secret value holding the webhook URL (the URL is the credential)."
    )
    card: Literal["adaptive", "message"] = Field(
        default="adaptive",
        description="adaptive: an Adaptive Card in a message attachment (Workflows webhooks); "
        "message: a legacy MessageCard (Office 365 connectors).",
    )
    timeout: str = _timeout("10s", "30s")


class WebhookChannel(Schema):
    """A generic JSON webhook, signed as the Standard Webhooks specification says."""

    url: str = Field(
        pattern=URL,
        max_length=2048,
        description="Where the JSON is POSTed (https, unless the receiver is internal). "
        "Redirects are not followed.",
    )
    signing_secret_ref: SecretKeyReference = Field(
        description="The Secret value holding the signing secret, `whsec_` and base64 of at "
        "least 24 random bytes; several secrets separated by spaces (a rotation) each sign."
    )
    timeout: str = _timeout("15s", "30s")


class SmsChannel(Schema):
    """Text messages through Amazon SNS, for critical incidents only."""

    region: str = Field(pattern=AWS_REGION, description="The SNS region (e.g. us-east-1).")
    sender_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{1,11}$",
        description="The alphanumeric sender id, where the destination country allows one.",
    )
    origination_number: str | None = Field(
        default=None,
        pattern=r"^\+[1-9][0-9]{6,14}$",
        description="The number messages come from (E.164), where one is registered.",
    )


class Broadcast(Schema):
    """Messages a chat room or webhook receives for every incident that fits, whoever the
    people told are (a NOC room, the MSP's ticketing system)."""

    kinds: list[MessageKind] = Field(
        default_factory=list,
        max_length=8,
        description="The kinds of message; empty for every kind.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    severities: list[Severity] = Field(
        default_factory=list,
        max_length=5,
        description="Only incidents of these severities; empty for every severity.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    companies: list[Name] = Field(
        default_factory=list,
        max_length=200,
        description="Only these companies; empty for every company.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


def _one_settings_rule() -> str:
    return " && ".join(f"(self.type == '{t}') == has(self.{t})" for t in CHANNEL_TYPES)


CHANNEL_RULES: list[JsonValue] = [
    {
        "rule": _one_settings_rule(),
        "message": "give exactly one settings object, the one type names "
        "(type: smtp needs smtp, and nothing else)",
    },
    {
        "rule": "!self.default || self.type in ['smtp', 'ses', 'sms']",
        "message": "only an email (smtp, ses) or sms channel can be the default",
    },
    {
        "rule": "!has(self.broadcast) || self.type in ['slack', 'teams', 'webhook']",
        "message": "only a room (slack, teams, webhook) can broadcast: email and sms need "
        "a person's address",
    },
]


class NotificationChannelSpec(Schema):
    """One way of reaching people, and its settings."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": CHANNEL_RULES})

    type: Literal["smtp", "ses", "slack", "teams", "webhook", "sms"] = Field(
        description="How messages are sent; the settings object of the same name is required."
    )
    default: bool = Field(
        default=False,
        description="The email channel (smtp, ses) used where nothing else is named, or the sms "
        "channel used for critical incidents; one of each at most.",
    )
    description: str = Field(default="", max_length=1024, description="What it is for.")
    smtp: SmtpChannel | None = Field(default=None, description="SMTP settings.")
    ses: SesChannel | None = Field(default=None, description="Amazon SES settings.")
    slack: SlackChannel | None = Field(default=None, description="Slack webhook settings.")
    teams: TeamsChannel | None = Field(default=None, description="Teams webhook settings.")
    webhook: WebhookChannel | None = Field(default=None, description="Generic webhook settings.")
    sms: SmsChannel | None = Field(default=None, description="Amazon SNS SMS settings.")
    broadcast: Broadcast | None = Field(
        default=None,
        description="For a room (slack, teams, webhook): the messages it receives for every "
        "incident that fits, besides those of the people who chose it.",
    )

    @model_validator(mode="after")
    def _settings_match_type(self) -> Self:
        given = [t for t in CHANNEL_TYPES if getattr(self, t) is not None]
        if given != [self.type]:
            raise ValueError(
                f"type {self.type} needs exactly the {self.type} settings object"
                + (f", not {', '.join(t for t in given if t != self.type)}" if given else "")
            )
        if self.default and self.type not in (*EMAIL_TYPES, "sms"):
            raise ValueError("only an email (smtp, ses) or sms channel can be the default")
        if self.broadcast is not None and self.type not in ROOM_TYPES:
            raise ValueError("only a room (slack, teams, webhook) can broadcast")
        if self.smtp is not None and self.smtp.tls == "none" and self.smtp.secret_ref:
            raise ValueError("smtp: a login needs tls starttls or tls")
        return self

    @property
    def medium(self) -> Literal["email", "sms", "room"]:
        """What the channel needs of a person: an email address, a phone number, or nothing
        (a room posts to its own URL)."""
        if self.type in EMAIL_TYPES:
            return "email"
        return "sms" if self.type == "sms" else "room"


class NotificationChannel(Resource):
    """Where messages go."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="NotificationChannel",
        plural="notificationchannels",
        singular="notificationchannel",
        short_names=["nc", "channel"],
        namespaced=False,
        description="A way of sending messages: SMTP or SES email, a Slack- or Teams-compatible "
        "incoming webhook, a signed generic JSON webhook, or SMS; secrets by reference to "
        "Secrets in the platform namespace.",
        columns=[
            PrinterColumn(name="Type", json_path=".spec.type"),
            PrinterColumn(name="Default", json_path=".spec.default", type="boolean"),
            PrinterColumn(name="Description", json_path=".spec.description", priority=1),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "NotificationChannel"
    spec: NotificationChannelSpec
    status: StatusBase | None = None
