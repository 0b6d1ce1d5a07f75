"""Sending one outbox entry: one `Transport` per channel type behind one protocol, the
channel's secrets read from the platform namespace, and a whole attempt (rate limit, send,
the outbox's next state) in one function.

SMTP, Slack, Teams and the signed webhook are here (over the notify package). SES email and
SNS SMS plug in the same way through `SesTransport` and `SmsTransport`, which take the aws
package's send function: `Dispatcher({..., "ses": SesTransport(aws_send), "sms": ...})`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from whisperer.operator import notify
from whisperer.operator.errors import DeliveryDeferredError, DeliveryRefusedError, NotFoundError
from whisperer.operator.models.v1alpha1 import NotificationChannel
from whisperer.operator.models.v1alpha1.notification import SecretKeyReference
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.notifications import payloads
from whisperer.operator.services.notifications.messages import Message
from whisperer.operator.services.notifications.outbox import (
    OutboxEntry,
    OutboxKey,
    failed,
    postponed,
    sent,
)
from whisperer.operator.services.notifications.ratelimit import RateLimiter
from whisperer.operator.services.notifications.recipients import Delivery, Directory
from whisperer.operator.services.notifications.render import Rendered, Renderer
from whisperer.operator.services.notifications.retry import RetryPolicy
from whisperer.operator.services.notifications.views import RecipientView, recipient_view
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

SecretReader = Callable[[str], Awaitable[Mapping[str, str]]]
"""The decoded values of a Secret of the platform namespace, by name (NotFoundError when
there is none)."""


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel and address, rendered."""

    key: OutboxKey
    channel: NotificationChannel
    address: str  # email address, phone number, or empty for a room
    recipient_name: str
    message: Message
    rendered: Rendered

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks id (the same on every retry)."""
        return f"msg_{self.key.id}"


def compose(
    delivery: Delivery,
    *,
    build: Callable[[RecipientView], Message],
    renderer: Renderer,
    directory: Directory,
    default_zone: str = "UTC",
) -> Outgoing:
    """The message of one delivery, written for its reader (their name and time zone;
    `default_zone` for those who are not technicians: the SLA policy's suits a company)."""
    reader = recipient_view(delivery.person, directory.technicians, default_zone=default_zone)
    message = build(reader)
    return Outgoing(
        key=delivery.key,
        channel=directory.channels[delivery.channel],
        address=delivery.address,
        recipient_name=delivery.person.name if delivery.person else "",
        message=message,
        rendered=renderer.render(message),
    )


class Transport(Protocol):
    """Hands one message to one kind of channel. Returns a receipt (a message id, a status);
    raises DeliveryDeferredError (or any TemporaryError) to be retried, DeliveryRefusedError
    (or any PermanentError) to be recorded and not retried."""

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Send it."""
        ...


async def secret_value(secrets: SecretReader, ref: SecretKeyReference | str, key: str = "") -> str:
    """One value of a platform Secret. A missing Secret or key is temporary (the MSP may
    create it in a minute; the retries give them the time), and says what is missing."""
    name, wanted = (ref.name, ref.key) if isinstance(ref, SecretKeyReference) else (ref, key)
    try:
        values = await secrets(name)
    except NotFoundError as exc:
        raise DeliveryDeferredError(
            f"Secret {PLATFORM_NAMESPACE}/{name} does not exist", retry_after=60
        ) from exc
    value = values.get(wanted)
    if not value:
        raise DeliveryDeferredError(
            f"Secret {PLATFORM_NAMESPACE}/{name} has no value {wanted!r}", retry_after=60
        )
    return value


class SmtpTransport:
    """Email through the channel's SMTP relay (smtplib runs in a thread)."""

    def __init__(self, secrets: SecretReader, *, ca_file: str | None = None) -> None:
        self._secrets = secrets
        self._ca_file = ca_file

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Send the text and HTML parts to the address."""
        settings = outgoing.channel.spec.smtp
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no smtp")
        username = password = None
        if settings.secret_ref is not None:
            username = await secret_value(self._secrets, settings.secret_ref.name, "username")
            password = await secret_value(self._secrets, settings.secret_ref.name, "password")
        server = notify.SmtpServer(
            host=settings.host,
            port=settings.port,
            tls=settings.tls,
            timeout=parse_duration(settings.timeout).total_seconds(),
            username=username,
            password=password,
            ca_file=self._ca_file,
        )
        email = notify.Email(
            sender=settings.sender,
            sender_name=settings.from_name,
            to=outgoing.address,
            to_name=outgoing.recipient_name if outgoing.recipient_name != outgoing.address else "",
            subject=outgoing.rendered.subject,
            text=outgoing.rendered.text,
            html=outgoing.rendered.html,
            message_id=outgoing.key.id,
            date=now,
            headers=_headers(outgoing),
        )
        await asyncio.to_thread(notify.send_email, server, email)
        return f"message-id {outgoing.key.id}"


def _headers(outgoing: Outgoing) -> dict[str, str]:
    i = outgoing.message.incident
    return {
        "X-Alert-Whisperer-Incident": i.id,
        "X-Alert-Whisperer-Kind": str(outgoing.message.message_kind),
        "X-Alert-Whisperer-Severity": i.severity,
    }


class SlackTransport:
    """A Slack-compatible incoming webhook."""

    def __init__(self, session: notify.Session, secrets: SecretReader) -> None:
        self._session = session
        self._secrets = secrets

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Post the Block Kit message."""
        settings = outgoing.channel.spec.slack
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no slack")
        url = await secret_value(self._secrets, settings.url_secret_ref)
        body = payloads.slack(outgoing.message, outgoing.rendered)
        answer = await notify.post_json(
            self._session,
            url,
            body,
            time_limit=parse_duration(settings.timeout).total_seconds(),
            now=now,
            what=f"Slack webhook {outgoing.channel.metadata.name}",
        )
        return f"HTTP {answer.status}"


class TeamsTransport:
    """A Teams incoming webhook (Workflows or a legacy connector)."""

    def __init__(self, session: notify.Session, secrets: SecretReader) -> None:
        self._session = session
        self._secrets = secrets

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Post the card; a legacy connector's error inside a 200 counts as that error."""
        settings = outgoing.channel.spec.teams
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no teams")
        url = await secret_value(self._secrets, settings.url_secret_ref)
        what = f"Teams webhook {outgoing.channel.metadata.name}"
        answer = await notify.post_json(
            self._session,
            url,
            payloads.teams(outgoing.message, outgoing.rendered, card=settings.card),
            time_limit=parse_duration(settings.timeout).total_seconds(),
            now=now,
            what=what,
        )
        error = notify.teams_answer_error(answer, what=what)
        if error is not None:
            raise error
        return f"HTTP {answer.status}"


class WebhookTransport:
    """The generic JSON webhook, signed as Standard Webhooks says."""

    def __init__(self, session: notify.Session, secrets: SecretReader) -> None:
        self._session = session
        self._secrets = secrets

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Post the event with webhook-id, webhook-timestamp and webhook-signature."""
        settings = outgoing.channel.spec.webhook
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no webhook")
        keys = notify.parse_secrets(await secret_value(self._secrets, settings.signing_secret_ref))
        body = json.dumps(
            payloads.event(outgoing.message, outgoing.rendered, at=now),
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        headers = notify.signed_headers(
            keys, msg_id=outgoing.webhook_id, timestamp=int(now.timestamp()), body=body
        )
        answer = await notify.post_json(
            self._session,
            settings.url,
            body,
            headers=headers,
            time_limit=parse_duration(settings.timeout).total_seconds(),
            now=now,
            what=f"webhook {outgoing.channel.metadata.name}",
        )
        return f"HTTP {answer.status}"


class EmailSender(Protocol):
    """What the aws package's SES function is called with (SESv2 SendEmail)."""

    def __call__(
        self,
        *,
        region: str,
        sender: str,
        to: str,
        subject: str,
        text: str,
        html: str,
        configuration_set: str | None,
    ) -> str:
        """Send; return the SES MessageId. Raises TemporaryError (throttling) or
        PermanentError (MessageRejected...)."""
        ...


class SmsSender(Protocol):
    """What the aws package's SNS function is called with (Publish to a phone number)."""

    def __call__(
        self,
        *,
        region: str,
        phone: str,
        text: str,
        sender_id: str | None,
        origination_number: str | None,
    ) -> str:
        """Send; return the SNS MessageId."""
        ...


class SesTransport:
    """Email through Amazon SES, over the aws package's (blocking) send function."""

    def __init__(self, send: EmailSender) -> None:
        self._send = send

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Send the text and HTML parts."""
        settings = outgoing.channel.spec.ses
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no ses")
        sender = (
            f"{settings.from_name} <{settings.sender}>" if settings.from_name else settings.sender
        )
        return await asyncio.to_thread(
            self._send,
            region=settings.region,
            sender=sender,
            to=outgoing.address,
            subject=outgoing.rendered.subject,
            text=outgoing.rendered.text,
            html=outgoing.rendered.html,
            configuration_set=settings.configuration_set,
        )


class SmsTransport:
    """Text messages through Amazon SNS, over the aws package's (blocking) publish function."""

    def __init__(self, send: SmsSender) -> None:
        self._send = send

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Send the short text."""
        settings = outgoing.channel.spec.sms
        if settings is None:
            raise DeliveryRefusedError(f"channel {outgoing.channel.metadata.name} has no sms")
        return await asyncio.to_thread(
            self._send,
            region=settings.region,
            phone=outgoing.address,
            text=outgoing.rendered.sms,
            sender_id=settings.sender_id,
            origination_number=settings.origination_number,
        )


class Dispatcher:
    """The transport of each channel type; a type without one is refused, naming it."""

    def __init__(self, transports: Mapping[str, Transport]) -> None:
        self._transports = dict(transports)

    @classmethod
    def standard(
        cls,
        session: notify.Session,
        secrets: SecretReader,
        *,
        ca_file: str | None = None,
        extra: Mapping[str, Transport] | None = None,
    ) -> Dispatcher:
        """SMTP, Slack, Teams and the webhook; `extra` adds (or replaces) others: ses, sms."""
        transports: dict[str, Transport] = {
            "smtp": SmtpTransport(secrets, ca_file=ca_file),
            "slack": SlackTransport(session, secrets),
            "teams": TeamsTransport(session, secrets),
            "webhook": WebhookTransport(session, secrets),
        }
        transports.update(extra or {})
        return cls(transports)

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        """Hand it to its channel type's transport."""
        kind = outgoing.channel.spec.type
        transport = self._transports.get(kind)
        if transport is None:
            raise DeliveryRefusedError(
                f"{kind} channels cannot send from this operator (no {kind} transport)"
            )
        return await transport.send(outgoing, now=now)


async def attempt(
    entry: OutboxEntry,
    outgoing: Outgoing,
    *,
    dispatcher: Dispatcher,
    limiter: RateLimiter,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
) -> OutboxEntry:
    """One attempt at an outbox entry: postponed when its recipient is over the rate limit
    (no attempt counted), else sent, rescheduled, or failed for good."""
    wait = limiter.take(entry.key.recipient)
    if wait > timedelta(0):
        return postponed(entry, until=now + wait)
    try:
        receipt = await dispatcher.send(outgoing, now=now)
    except Exception as exc:  # classified by the policy: ours by type, anything else gives up
        return failed(entry, exc, policy=policy, now=now, rng=rng)
    return sent(entry, now=now, receipt=receipt)
