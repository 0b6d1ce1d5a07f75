"""SMS through Amazon SNS (Publish to a phone number), on the MSP's own credentials.

A number that opted out is asked first (CheckIfPhoneNumberIsOptedOut): SNS would accept the
Publish and drop the message, so the refusal would never be seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from whisperer.operator.aws.faults import code_of, message_of, translate
from whisperer.operator.aws.session import Aws
from whisperer.operator.errors import InvalidError, MessageRejectedError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
MAX_BYTES = 1600
# Refused for good: an invalid number or message, an opted-out number.
REJECTED = frozenset({"InvalidParameter", "InvalidParameterValue", "OptedOut", "EndpointDisabled"})


@dataclass(frozen=True)
class Sms:
    """One text message to one phone."""

    phone_number: str
    """E.164: + country code and number, digits only (+15555550123)."""
    text: str
    sender_id: str | None = None
    """An alphanumeric sender id (where the destination country allows one)."""
    kind: Literal["Transactional", "Promotional"] = "Transactional"

    def __post_init__(self) -> None:
        if not E164.match(self.phone_number):
            raise InvalidError(f"not an E.164 phone number: {self.phone_number!r}")
        if not self.text:
            raise InvalidError("an SMS needs text")
        if len(self.text.encode("utf-8")) > MAX_BYTES:
            raise InvalidError(f"an SMS is at most {MAX_BYTES} bytes")
        if self.sender_id is not None and not SENDER_ID.match(self.sender_id):
            raise InvalidError("a sender id is 1-11 letters and digits, at least one letter")


class SmsSender:
    """SNS Publish in one region (None: the default chain's region)."""

    def __init__(self, aws: Aws, *, region: str | None = None) -> None:
        self.aws = aws
        self.region = region

    def send(self, sms: Sms) -> str:
        """Send once; SNS's message id. Opted out or invalid: MessageRejectedError; throttled:
        ThrottledError; a lost answer: OutcomeUnknownError."""
        delay = self.aws.settings.throttle_delay
        reader: SNSClient = self.aws.client("sns", region=self.region)
        try:
            opted_out = reader.check_if_phone_number_is_opted_out(phoneNumber=sms.phone_number)
        except ClientError as exc:
            if code_of(exc) in REJECTED:
                raise MessageRejectedError(
                    f"SNS refused {sms.phone_number}: {message_of(exc)}", reason=code_of(exc)
                ) from exc
            raise translate(
                exc, action="sns:CheckIfPhoneNumberIsOptedOut", changes=False, throttle_delay=delay
            ) from exc
        except BotoCoreError as exc:
            raise translate(
                exc, action="sns:CheckIfPhoneNumberIsOptedOut", changes=False, throttle_delay=delay
            ) from exc
        if opted_out.get("isOptedOut"):
            raise MessageRejectedError(
                f"{sms.phone_number} opted out of SMS from this account", reason="OptedOut"
            )
        attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": sms.kind},
        }
        if sms.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": sms.sender_id,
            }
        writer: SNSClient = self.aws.client("sns", region=self.region, changes=True)
        try:
            answer = writer.publish(
                PhoneNumber=sms.phone_number, Message=sms.text, MessageAttributes=attributes
            )
        except ClientError as exc:
            if code_of(exc) in REJECTED:
                raise MessageRejectedError(
                    f"SNS refused the SMS to {sms.phone_number}: {message_of(exc)}",
                    reason=code_of(exc),
                ) from exc
            raise translate(exc, action="sns:Publish", changes=True, throttle_delay=delay) from exc
        except BotoCoreError as exc:
            raise translate(exc, action="sns:Publish", changes=True, throttle_delay=delay) from exc
        return str(answer["MessageId"])


__all__ = ["E164", "Sms", "SmsSender"]
