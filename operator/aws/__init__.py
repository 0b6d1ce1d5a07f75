"""AWS for the operator: STS AssumeRole into a company's role, SSM Run Command, SES email and
SNS SMS; the only package that imports boto3 and botocore (an import contract says so).

The MSP's own credentials come from the standard AWS chain and endpoints from
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, as boto3 reads them. Errors are ours
(`whisperer.operator.errors`), translated once in `faults`.
"""

from whisperer.operator.aws.ses import Email, Mailer, SentEmail, mime
from whisperer.operator.aws.session import Aws, RoleCredentials, session_name
from whisperer.operator.aws.settings import AwsSettings
from whisperer.operator.aws.sns import Sms, SmsSender
from whisperer.operator.aws.ssm import (
    MAX_TARGETS,
    Batch,
    CommandRequest,
    Dispatched,
    Invocation,
    InvocationState,
    Outcome,
    Ssm,
    batches,
    state_of,
)

__all__ = [
    "MAX_TARGETS",
    "Aws",
    "AwsSettings",
    "Batch",
    "CommandRequest",
    "Dispatched",
    "Email",
    "Invocation",
    "InvocationState",
    "Mailer",
    "Outcome",
    "RoleCredentials",
    "SentEmail",
    "Sms",
    "SmsSender",
    "Ssm",
    "batches",
    "mime",
    "session_name",
    "state_of",
]
