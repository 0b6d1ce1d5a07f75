"""Email through Amazon SES (the `sesv2` API), sent as one MIME message (plain text and HTML
alternatives, Reply-To, our own headers), on the MSP's own credentials.

The message goes as `Content.Raw`, not `Content.Simple`: the raw form carries both parts, the
Reply-To and headers such as Message-ID exactly as built here, so what the recipient gets is
what a test reads back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from whisperer.operator.aws.faults import code_of, message_of, translate
from whisperer.operator.aws.session import Aws
from whisperer.operator.errors import InvalidError, MessageRejectedError, PermanentError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# Refused for good: the message or its sender (SES v2 codes, and SES v1's for old endpoints).
REJECTED = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "AccountSuspendedException",
        "SendingPausedException",
        "AccountSendingPausedException",
        "ConfigurationSetSendingPausedException",
    }
)
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,76}$")
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class Email:
    """One message to some recipients."""

    sender: str
    """The From address (an identity verified in SES), optionally `Name <address>`."""
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    reply_to: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    """More headers (e.g. `X-Whisperer-Key`); `Message-ID` is made when not given."""
    configuration_set: str | None = None

    def __post_init__(self) -> None:
        for address in (self.sender, *self.to, *self.reply_to):
            if not _ADDRESS.match(parseaddr(address)[1]):
                raise InvalidError(f"not an email address: {address!r}")
        if not self.to:
            raise InvalidError("an email needs a recipient")
        if len(self.to) > MAX_RECIPIENTS:
            raise InvalidError(f"at most {MAX_RECIPIENTS} recipients per email")
        if "\n" in self.subject or "\r" in self.subject:
            raise InvalidError("the subject is one line")
        for name, value in self.headers.items():
            if not _HEADER.match(name) or "\n" in value or "\r" in value:
                raise InvalidError(f"not a header: {name!r}")


@dataclass(frozen=True)
class SentEmail:
    """What SES said."""

    message_id: str
    """SES's message id."""
    header_message_id: str
    """The Message-ID header we put on it (for threading and for finding it again)."""


def mime(email: Email) -> EmailMessage:
    """The MIME message: text/plain, and text/html as an alternative when given."""
    message = EmailMessage(policy=SMTP)
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    if email.reply_to:
        message["Reply-To"] = ", ".join(email.reply_to)
    message["Subject"] = email.subject
    extra = dict(email.headers)
    domain = parseaddr(email.sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = extra.pop("Message-ID", None) or make_msgid(domain=domain)
    for name, value in extra.items():
        message[name] = value
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message


class Mailer:
    """SES v2 SendEmail in one region (None: the default chain's region)."""

    def __init__(self, aws: Aws, *, region: str | None = None) -> None:
        self.aws = aws
        self.region = region

    def send(self, email: Email) -> SentEmail:
        """Send `email` once (no retry on a lost answer: OutcomeUnknownError).

        Rejected (MessageRejected, MailFromDomainNotVerified, sending paused):
        MessageRejectedError. Throttled (TooManyRequests, Throttling): ThrottledError.
        """
        message = mime(email)
        kwargs: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": {"ToAddresses": list(email.to)},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if email.configuration_set:
            kwargs["ConfigurationSetName"] = email.configuration_set
        client: SESV2Client = self.aws.client("sesv2", region=self.region, changes=True)
        try:
            answer = client.send_email(**kwargs)
        except ClientError as exc:
            code = code_of(exc)
            if code in REJECTED:
                raise MessageRejectedError(
                    f"SES refused the email: {code}: {message_of(exc)}", reason=code
                ) from exc
            raise translate(
                exc,
                action="ses:SendEmail",
                changes=True,
                throttle_delay=self.aws.settings.throttle_delay,
            ) from exc
        except BotoCoreError as exc:
            raise translate(
                exc,
                action="ses:SendEmail",
                changes=True,
                throttle_delay=self.aws.settings.throttle_delay,
            ) from exc
        message_id = answer.get("MessageId")
        if not message_id:
            raise PermanentError("SES answered without a MessageId")
        return SentEmail(message_id=str(message_id), header_message_id=str(message["Message-ID"]))


def address(name: str, email: str) -> str:
    """`Name <email>`, quoted as the header needs."""
    return formataddr((name, email))


__all__ = ["Email", "Mailer", "SentEmail", "address", "mime"]
