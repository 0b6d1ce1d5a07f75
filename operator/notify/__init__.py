"""SMTP and outgoing HTTP (chat webhooks, the signed generic webhook): the only package that
speaks SMTP or posts messages, each failure classified once as DeliveryDeferredError (retry) or
DeliveryRefusedError (record and stop). SES email and SNS SMS live in the aws package."""

from whisperer.operator.notify.http import (
    Answer,
    Session,
    classify,
    make_session,
    post_json,
    retry_after,
    teams_answer_error,
)
from whisperer.operator.notify.signing import headers as signed_headers
from whisperer.operator.notify.signing import parse_secrets, sign
from whisperer.operator.notify.smtp import Email, SmtpServer, build_message, send_email

__all__ = [
    "Answer",
    "Email",
    "Session",
    "SmtpServer",
    "build_message",
    "classify",
    "make_session",
    "parse_secrets",
    "post_json",
    "retry_after",
    "send_email",
    "sign",
    "signed_headers",
    "teams_answer_error",
]
