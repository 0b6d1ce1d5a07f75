"""SES v2 email and SNS SMS against moto, read back from what moto recorded; permanent
refusals (unverified sender, opted-out or invalid number) and temporary ones (throttling)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import boto3
import pytest
from support.moto import AwsDouble

from whisperer.operator.aws import Aws, Email, Mailer, Sms, SmsSender
from whisperer.operator.errors import (
    InvalidError,
    MessageRejectedError,
    OutcomeUnknownError,
    PermanentError,
    ThrottledError,
)

SENDER = "Northwind NOC <noc@northwind-msp.example>"


def verified(address: str = "noc@northwind-msp.example") -> None:
    """What the MSP does once in SES: verify its sending identity."""
    boto3.client("sesv2").create_email_identity(EmailIdentity=address)


def message(**changes: object) -> Email:
    fields: dict[str, object] = {
        "sender": SENDER,
        "to": ("sam@northwind-msp.example", "priya@acme-dental.example"),
        "subject": "[P1] acme-dental: web-01 disk full",
        "text": "web-01 is out of disk space.\nkubectl whisper run free-disk-space\n",
        "html": "<p><b>web-01</b> is out of disk space.</p>",
        "reply_to": ("noc-replies@northwind-msp.example",),
        "headers": {"X-Whisperer-Key": "inc-42/assignment/sam/email"},
    }
    fields.update(changes)
    return Email(**fields)  # type: ignore[arg-type]


def parsed(raw: str) -> EmailMessage:
    result = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(result, EmailMessage)
    return result


def test_an_email_goes_out_once_with_text_html_and_reply_to(aws: Aws, moto: AwsDouble) -> None:
    verified()
    sent = Mailer(aws).send(message())

    [recorded] = moto.emails()
    assert len(moto.seen("sesv2:SendEmail")) == 1
    assert recorded["source"] == SENDER
    mail = parsed(recorded["raw_data"])
    assert mail["From"] == SENDER
    assert mail["To"] == "sam@northwind-msp.example, priya@acme-dental.example"
    assert mail["Reply-To"] == "noc-replies@northwind-msp.example"
    assert mail["Subject"] == "[P1] acme-dental: web-01 disk full"
    assert mail["X-Whisperer-Key"] == "inc-42/assignment/sam/email"
    assert mail["Message-ID"] == sent.header_message_id
    assert sent.header_message_id.endswith("@northwind-msp.example>")
    assert sent.message_id
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert (
        # On the wire lines end in CRLF (RFC 5322); the text is the same.
        text.get_content().replace("\r\n", "\n")
        == "web-01 is out of disk space.\nkubectl whisper run free-disk-space\n"
    )
    assert "<b>web-01</b>" in html.get_content()


def test_a_text_only_email_has_one_part(aws: Aws, moto: AwsDouble) -> None:
    verified()
    Mailer(aws).send(message(html=None, reply_to=()))

    [recorded] = moto.emails()
    mail = parsed(recorded["raw_data"])
    assert mail.get_content_type() == "text/plain"
    assert mail["Reply-To"] is None


def test_an_unverified_sender_is_rejected_for_good(aws: Aws, moto: AwsDouble) -> None:
    with pytest.raises(MessageRejectedError) as rejected:
        Mailer(aws).send(message())
    assert rejected.value.reason == "MessageRejected"  # moto's own check
    assert isinstance(rejected.value, PermanentError)
    assert moto.emails() == []


def test_an_unverified_mail_from_domain_is_rejected_for_good(aws: Aws, moto: AwsDouble) -> None:
    verified()
    moto.fail("sesv2:SendEmail", "MailFromDomainNotVerifiedException", status=400)
    with pytest.raises(MessageRejectedError) as rejected:
        Mailer(aws).send(message())
    assert rejected.value.reason == "MailFromDomainNotVerifiedException"


def test_ses_throttling_is_temporary(aws: Aws, moto: AwsDouble) -> None:
    verified()
    moto.fail("sesv2:SendEmail", "TooManyRequestsException", status=429)
    with pytest.raises(ThrottledError):
        Mailer(aws).send(message())
    assert moto.emails() == []
    Mailer(aws).send(message())
    assert len(moto.emails()) == 1


def test_a_lost_answer_from_ses_is_outcome_unknown(aws: Aws, moto: AwsDouble) -> None:
    verified()
    moto.fail("sesv2:SendEmail", "InternalFailure", status=500, after=True)
    with pytest.raises(OutcomeUnknownError):
        Mailer(aws).send(message())
    assert len(moto.emails()) == 1  # it went out; the caller's outbox decides
    assert len(moto.seen("sesv2:SendEmail")) == 1


def test_malformed_emails_are_refused_before_anything_is_sent(aws: Aws, moto: AwsDouble) -> None:
    for bad in (
        {"to": ()},
        {"to": ("not-an-address",)},
        {"subject": "two\nlines"},
        {"headers": {"Bad Header": "x"}},
    ):
        with pytest.raises(InvalidError):
            message(**bad)
    assert moto.seen() == []


def test_an_sms_goes_out_once(aws: Aws, moto: AwsDouble) -> None:
    message_id = SmsSender(aws).send(
        Sms("+15555550123", "P1 acme-dental web-01 down. kubectl whisper ack inc-42")
    )

    [recorded] = moto.sms()
    assert recorded["message_id"] == message_id
    assert recorded["phone_number"] == "+15555550123"
    assert recorded["message"] == "P1 acme-dental web-01 down. kubectl whisper ack inc-42"
    assert len(moto.seen("sns:Publish")) == 1


def test_an_opted_out_number_is_rejected_and_nothing_is_published(
    aws: Aws, moto: AwsDouble
) -> None:
    # moto treats numbers ending in 99 as opted out.
    with pytest.raises(MessageRejectedError) as rejected:
        SmsSender(aws).send(Sms("+15555550199", "P1 web-01 down"))
    assert rejected.value.reason == "OptedOut"
    assert moto.seen("sns:Publish") == []
    assert moto.sms() == []


def test_an_invalid_number_is_refused_before_anything_is_sent(aws: Aws, moto: AwsDouble) -> None:
    for number in ("555-0123", "15555550123", "+0123456789", "+1"):
        with pytest.raises(InvalidError):
            Sms(number, "x")
    assert moto.seen() == []


def test_a_number_sns_refuses_is_rejected_for_good(aws: Aws, moto: AwsDouble) -> None:
    moto.fail("sns:Publish", "InvalidParameter", message="Invalid parameter: PhoneNumber")
    with pytest.raises(MessageRejectedError) as rejected:
        SmsSender(aws).send(Sms("+15555550123", "x"))
    assert rejected.value.reason == "InvalidParameter"


def test_sns_throttling_is_temporary(aws: Aws, moto: AwsDouble) -> None:
    moto.fail("sns:Publish", "Throttled", message="Rate exceeded")
    with pytest.raises(ThrottledError):
        SmsSender(aws).send(Sms("+15555550123", "x"))
    assert moto.sms() == []
