"""Fixtures for the cloud wrappers: moto's server behind the fault proxy (session), the ARM
stub (session), and per test a clean double, an environment that points boto3 at it with
dummy credentials, and the production wrappers built from settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.arm_stub import CLIENT_ID, CLIENT_SECRET, TENANT, ArmStub, arm_stub
from support.moto import AwsDouble, aws_double

from whisperer.operator.aws import Aws, AwsSettings
from whisperer.operator.azure import Azure, AzureSettings, ServicePrincipal
from whisperer.operator.clock import ManualClock


@pytest.fixture(scope="session")
def aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsDouble]:
    """moto's server (its own process) and the fault proxy, for the whole session."""
    with aws_double(tmp_path_factory.mktemp("moto")) as double:
        yield double


@pytest.fixture
def moto(
    aws_server: AwsDouble, monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> AwsDouble:
    """A clean moto, and an environment where boto3's standard chain finds dummy
    credentials and AWS_ENDPOINT_URL points at the proxy (and nothing of the developer's
    own AWS setup is read)."""
    aws_server.reset()
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/no-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/no-aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return aws_server


@pytest.fixture
def clock() -> ManualClock:
    """Now, moved only by the test (moto's session expirations are real times)."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def aws_settings() -> AwsSettings:
    """Production settings, but one attempt per read (the tests inject throttling)."""
    return AwsSettings(read_attempts=1, throttle_delay=2.0, read_timeout=5.0)


@pytest.fixture
def aws(moto: AwsDouble, aws_settings: AwsSettings, clock: ManualClock) -> Aws:
    """The production wrapper on the test environment."""
    return Aws(aws_settings, clock=clock)


@pytest.fixture(scope="session")
def arm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArmStub]:
    """The ARM and token stub over HTTPS, for the whole session."""
    with arm_stub(tmp_path_factory.mktemp("arm")) as stub:
        yield stub


@pytest.fixture
def arm(arm_server: ArmStub) -> ArmStub:
    """A clean stub that knows our service principal."""
    arm_server.reset()
    arm_server.principal(TENANT, CLIENT_ID, CLIENT_SECRET)
    return arm_server


@pytest.fixture
def principal() -> ServicePrincipal:
    """The service principal the stub accepts."""
    return ServicePrincipal(TENANT, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def azure(arm: ArmStub) -> Iterator[Azure]:
    """The production wrapper, configured (as an MSP would, by environment) to use the stub
    for both ARM and the login authority, trusting the stub's test CA."""
    settings = AzureSettings.from_env(
        {
            "WHISPERER_AZURE_ARM_ENDPOINT": arm.url,
            "WHISPERER_AZURE_AUTHORITY_HOST": arm.url,
            "WHISPERER_AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
            "WHISPERER_AZURE_CA_BUNDLE": str(arm.ca),
            "WHISPERER_AZURE_READ_RETRIES": "0",
            "WHISPERER_AZURE_BUSY_DELAY_SECONDS": "7",
        }
    )
    client = Azure(settings)
    yield client
    client.close()
