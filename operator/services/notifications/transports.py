"""The operator's dispatcher: SMTP, Slack, Teams and the signed webhook over the notify
package, SES email and SNS text messages over the aws package (one client per region)."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from whisperer.operator import notify
from whisperer.operator.aws import Aws, Email, Mailer, Sms, SmsSender
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.notifications.dispatch import (
    Dispatcher,
    EmailSender,
    SecretReader,
    SesTransport,
    SmsTransport,
)
from whisperer.operator.services.notifications.dispatch import SmsSender as SmsSend
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE


def ses_send(aws: Aws) -> EmailSender:
    """SESv2 SendEmail, one mailer per region."""
    mailers: dict[str, Mailer] = {}

    def send(
        *,
        region: str,
        sender: str,
        to: str,
        subject: str,
        text: str,
        html: str,
        configuration_set: str | None,
    ) -> str:
        mailer = mailers.get(region)
        if mailer is None:
            mailer = mailers[region] = Mailer(aws, region=region or None)
        email = Email(
            sender=sender,
            to=(to,),
            subject=subject,
            text=text,
            html=html or None,
            configuration_set=configuration_set,
        )
        return mailer.send(email).message_id

    return send


def sns_send(aws: Aws) -> SmsSend:
    """SNS Publish to a phone number, one sender per region."""
    senders: dict[str, SmsSender] = {}

    def send(
        *,
        region: str,
        phone: str,
        text: str,
        sender_id: str | None,
        origination_number: str | None,
    ) -> str:
        found = senders.get(region)
        if found is None:
            found = senders[region] = SmsSender(aws, region=region or None)
        return found.send(Sms(phone_number=phone, text=text, sender_id=sender_id))

    return send


def secret_reader(kube: AsyncKube) -> SecretReader:
    """A Secret of the platform namespace, decoded (the channels' credentials)."""

    async def read(name: str) -> Mapping[str, str]:
        body = await kube.get("secrets", name, PLATFORM_NAMESPACE)
        data = body.get("data") or {}
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in data.items()}

    return read


def dispatcher(
    session: notify.Session, kube: AsyncKube, aws: Aws, *, ca_file: str | None = None
) -> Dispatcher:
    """Every channel type the operator can send through."""
    return Dispatcher.standard(
        session,
        secret_reader(kube),
        ca_file=ca_file,
        extra={"ses": SesTransport(ses_send(aws)), "sms": SmsTransport(sns_send(aws))},
    )
