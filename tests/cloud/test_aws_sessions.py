"""STS AssumeRole into a company's role against moto: the session names the run and is kept
until shortly before it expires; a refusal names the role; throttling is temporary; the
endpoint and the MSP's credentials come from boto3's standard variables, never from us."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from support.moto import AwsDouble

from whisperer.operator.aws import Aws, AwsSettings, session_name
from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import (
    AssumeRoleDeniedError,
    InvalidError,
    PermanentError,
    ThrottledError,
)

ROLE = "arn:aws:iam::111122223333:role/whisperer-remediation"
EXTERNAL_ID = "aw-acme-dental-3f9c2a7e5b"


def test_the_session_names_the_run_and_is_kept_until_shortly_before_it_expires(
    aws: Aws, moto: AwsDouble, clock: ManualClock
) -> None:
    name = session_name("company-acme-dental", "restart-nginx-7f3k2")
    first = aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session=name)
    again = aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session=name)

    assert again is first
    assert len(moto.seen("sts:AssumeRole")) == 1
    [granted] = moto.assumed_roles()
    assert granted["role_arn"] == ROLE
    assert granted["session_name"] == "aw-company-acme-dental-restart-nginx-7f3k2"
    assert granted["external_id"] == EXTERNAL_ID
    assert first.account_id == "111122223333"
    assert first.expiration > clock.now() + timedelta(minutes=50)

    # Five minutes (refresh_before_seconds) before expiry, the role is assumed again.
    clock.set(first.expiration - timedelta(seconds=299))
    renewed = aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session=name)
    assert renewed.access_key_id != first.access_key_id
    assert len(moto.seen("sts:AssumeRole")) == 2


def test_each_run_gets_its_own_session() -> None:
    long_namespace = "company-" + "a" * 60
    one = session_name(long_namespace, "run-1")
    two = session_name(long_namespace, "run-2")
    odd = session_name("company-x", "run with spaces/and:colons")

    for name in (one, two, odd):
        assert 2 <= len(name) <= 64
        assert all(c.isalnum() or c in "_+=,.@-" for c in name)
    assert one != two
    assert odd != session_name("company-x", "run-with-spaces-and-colons")


def test_a_role_whose_trust_policy_refuses_us_fails_naming_the_role(
    moto: AwsDouble, aws_settings: AwsSettings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set up (before moto checks IAM): the MSP's own user, allowed to assume whisperer-*
    # roles, and two company roles trusting that user with the company's external id.
    iam = boto3.client("iam")
    user = iam.create_user(UserName="whisperer-msp")["User"]
    iam.put_user_policy(
        UserName="whisperer-msp",
        PolicyName="assume-company-roles",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": "arn:aws:iam::*:role/whisperer-*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="whisperer-msp")["AccessKey"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": user["Arn"]},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
                }
            ],
        }
    )
    allowed = iam.create_role(RoleName="whisperer-remediation", AssumeRolePolicyDocument=trust)
    outside = iam.create_role(RoleName="ops-admin", AssumeRolePolicyDocument=trust)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    aws = Aws(aws_settings, clock=clock)
    role = allowed["Role"]["Arn"]

    with moto.iam_enforced():
        granted = aws.assume_role(role_arn=role, external_id=EXTERNAL_ID, session="aw-ok")
        with pytest.raises(AssumeRoleDeniedError) as wrong_id:
            aws.assume_role(role_arn=role, external_id="aw-someone-else", session="aw-wrong-id")
        with pytest.raises(AssumeRoleDeniedError) as not_ours:
            aws.assume_role(
                role_arn=outside["Role"]["Arn"], external_id=EXTERNAL_ID, session="aw-outside"
            )

    assert granted.role_arn == role
    assert wrong_id.value.role_arn == role
    assert role in str(wrong_id.value)
    assert not_ours.value.role_arn == outside["Role"]["Arn"]
    assert isinstance(wrong_id.value, PermanentError)


def test_throttled_sts_is_temporary_and_nothing_is_cached(aws: Aws, moto: AwsDouble) -> None:
    moto.fail("sts:AssumeRole", "Throttling", message="Rate exceeded")

    with pytest.raises(ThrottledError) as throttled:
        aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session="aw-throttled")
    assert throttled.value.delay == 2.0
    assert moto.assumed_roles() == []

    granted = aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session="aw-throttled")
    assert granted.role_arn == ROLE
    assert len(moto.seen("sts:AssumeRole")) == 2


def test_malformed_requests_are_refused_before_anything_is_sent(aws: Aws, moto: AwsDouble) -> None:
    with pytest.raises(InvalidError):
        aws.assume_role(role_arn="arn:aws:iam::1:user/x", external_id=EXTERNAL_ID, session="aw-x")
    with pytest.raises(InvalidError):
        aws.assume_role(role_arn=ROLE, external_id="x", session="aw-x")
    with pytest.raises(InvalidError):
        aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session="has spaces")
    assert moto.seen() == []


def test_endpoints_come_from_aws_endpoint_url_and_nothing_of_ours_overrides_them(
    aws_settings: AwsSettings, clock: ManualClock, moto: AwsDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")
    aws = Aws(aws_settings, clock=clock)

    assert aws.client("ssm", region="eu-west-1").meta.endpoint_url == moto.url
    assert aws.client("sts").meta.endpoint_url == moto.url
    assert aws.client("sesv2", changes=True).meta.endpoint_url == moto.url
    assert aws.client("sns").meta.endpoint_url == "http://127.0.0.1:9"


def test_no_credentials_in_the_standard_chain_is_a_clear_permanent_error(
    aws_settings: AwsSettings, clock: ManualClock, moto: AwsDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws = Aws(aws_settings, clock=clock)

    with pytest.raises(PermanentError, match="no usable AWS credentials"):
        aws.assume_role(role_arn=ROLE, external_id=EXTERNAL_ID, session="aw-nocreds")
    assert moto.seen() == []


def test_settings_come_from_whisperer_aws_variables() -> None:
    settings = AwsSettings.from_env(
        {"WHISPERER_AWS_SESSION_SECONDS": "900", "WHISPERER_AWS_THROTTLE_DELAY_SECONDS": "1.5"}
    )
    assert settings.session_seconds == 900
    assert settings.throttle_delay == 1.5
    assert AwsSettings.from_env({}) == AwsSettings()
    with pytest.raises(PermanentError, match="WHISPERER_AWS_SESSION_SECONDS"):
        AwsSettings.from_env({"WHISPERER_AWS_SESSION_SECONDS": "60"})
