"""SNS signatures: the canonical string, both versions, tampering, and where certs come from."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from whisperer.api.formats import sns_signature
from whisperer.api.signatures import SignatureError

Load = Callable[[str], Any]
LOCAL = re.compile(r"127\.0\.0\.1")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(*, valid_from: datetime, valid_to: datetime) -> bytes:
    """A self-signed certificate for KEY, as PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


NOW = datetime.now(UTC)
PEM = certificate(valid_from=NOW - timedelta(days=1), valid_to=NOW + timedelta(days=1))


class FakeFetch:
    """The injected I/O boundary: serves PEM and remembers what was asked."""

    def __init__(self, pem: bytes = PEM) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    sns_signature.clear_cache()
    yield
    sns_signature.clear_cache()


def signed(
    message: dict[str, Any], *, version: str = "2", url: str | None = None
) -> dict[str, Any]:
    """`message` signed with KEY as SNS would, its cert at a loopback URL."""
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    out = dict(message, SignatureVersion=version)
    out["SigningCertURL"] = url or f"https://127.0.0.1:8443/cert-{uuid.uuid4().hex}.pem"
    canonical = sns_signature.canonical_string(out).encode()
    out["Signature"] = base64.b64encode(KEY.sign(canonical, padding.PKCS1v15(), algorithm)).decode()
    return out


def verify(
    message: Any, fetch: Callable[[str], bytes] | None = None, *, allow_v1: bool = False
) -> None:
    sns_signature.verify(
        message, fetch_cert=fetch or FakeFetch(), allowed_hosts=LOCAL, allow_v1=allow_v1
    )


def test_the_canonical_string_of_a_notification() -> None:
    message = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:t",
        "Subject": "ALARM",
        "Message": "{}",
        "Timestamp": "2026-11-26T09:15:07.501Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    assert sns_signature.canonical_string(message) == (
        "Message\n{}\nMessageId\nm-1\nSubject\nALARM\nTimestamp\n2026-11-26T09:15:07.501Z\n"
        "TopicArn\narn:aws:sns:us-east-1:111122223333:t\nType\nNotification\n"
    )
    del message["Subject"]
    assert "Subject" not in sns_signature.canonical_string(message)


def test_the_canonical_string_of_a_confirmation(payload: Load) -> None:
    body = payload("sns/subscription-confirmation")
    keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    expected = "".join(f"{key}\n{body[key]}\n" for key in keys)
    assert sns_signature.canonical_string(body) == expected
    assert expected.endswith("Type\nSubscriptionConfirmation\n")


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("sample", ["sns/firing", "sns/subscription-confirmation"])
def test_a_signed_message_verifies(payload: Load, version: str, sample: str) -> None:
    verify(signed(payload(sample), version=version), allow_v1=version == "1")


def test_signature_version_1_only_where_the_company_allows_it(payload: Load) -> None:
    message = signed(payload("sns/firing"), version="1")
    with pytest.raises(SignatureError, match="SignatureVersion 1"):
        verify(message)
    verify(message, allow_v1=True)


def test_a_tampered_message_does_not(payload: Load) -> None:
    message = signed(payload("sns/firing"))
    message["Message"] = message["Message"].replace("ALARM", "OK")
    with pytest.raises(SignatureError, match="mismatch"):
        verify(message)


def test_a_subject_added_after_signing_does_not(payload: Load) -> None:
    body = payload("sns/firing")
    del body["Subject"]
    message = signed(body)
    message["Subject"] = "injected"
    with pytest.raises(SignatureError, match="mismatch"):
        verify(message)


def test_the_wrong_version_does_not(payload: Load) -> None:
    message = signed(payload("sns/firing"), version="1")
    message["SignatureVersion"] = "2"  # the SHA1 signature checked as SHA256
    with pytest.raises(SignatureError, match="mismatch"):
        verify(message, allow_v1=True)
    message["SignatureVersion"] = "3"
    with pytest.raises(SignatureError, match="SignatureVersion"):
        verify(message)
    del message["SignatureVersion"]
    with pytest.raises(SignatureError, match="SignatureVersion"):
        verify(message)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/cert.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/cert.pem",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://xsns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com\n.evil.example/cert.pem",
        "ftp://sns.us-east-1.amazonaws.com/cert.pem",
        "https://[::1/cert.pem",
    ],
)
def test_certificates_come_only_from_sns_hosts(payload: Load, url: str) -> None:
    fetch = FakeFetch()
    message = signed(payload("sns/firing"), url=url)
    with pytest.raises(SignatureError):
        sns_signature.verify(message, fetch_cert=fetch)
    assert fetch.urls == []  # never fetched


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
    ],
)
def test_the_default_allow_list_takes_real_sns_hosts(url: str) -> None:
    sns_signature.check_url(url)


def test_certificates_are_cached_by_url(payload: Load) -> None:
    fetch = FakeFetch()
    url = "https://127.0.0.1:8443/cached.pem"
    verify(signed(payload("sns/firing"), url=url), fetch)
    verify(signed(payload("sns/resolved"), url=url), fetch)
    assert fetch.urls == [url]


def test_the_cache_is_bounded(payload: Load) -> None:
    fetch = FakeFetch()
    for n in range(sns_signature.CACHE_SIZE + 5):
        verify(signed(payload("sns/firing"), url=f"https://127.0.0.1/{n}.pem"), fetch)
    verify(signed(payload("sns/firing"), url="https://127.0.0.1/0.pem"), fetch)
    assert len(fetch.urls) == sns_signature.CACHE_SIZE + 6  # the first was evicted


def test_a_bad_or_expired_certificate_is_refused(payload: Load) -> None:
    with pytest.raises(SignatureError, match="PEM"):
        verify(signed(payload("sns/firing")), FakeFetch(b"<html>not a cert</html>"))
    expired = certificate(valid_from=NOW - timedelta(days=9), valid_to=NOW - timedelta(days=1))
    with pytest.raises(SignatureError, match="expired"):
        verify(signed(payload("sns/firing")), FakeFetch(expired))


def test_a_failed_fetch_is_not_a_forgery(payload: Load) -> None:
    def down(url: str) -> bytes:
        raise OSError("connection refused")

    with pytest.raises(OSError, match="refused"):
        verify(signed(payload("sns/firing")), down)


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        "x",
        {},
        {"SignatureVersion": "1"},
        {"SignatureVersion": "1", "Type": "Notification"},
        {"SignatureVersion": "1", "Type": "Advert", "Signature": "AA=="},
        {"SignatureVersion": 1},
    ],
)
def test_malformed_messages_are_signature_errors(message: Any) -> None:
    with pytest.raises(SignatureError):
        verify(message)


def test_a_signature_that_is_not_base64(payload: Load) -> None:
    message = signed(payload("sns/firing"))
    message["Signature"] = "not base64!"
    with pytest.raises(SignatureError, match="base64"):
        verify(message)
