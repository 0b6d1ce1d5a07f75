"""Amazon SNS message signatures: proof that a notification came from SNS and is unchanged.

The canonical string is each signed key and its value as "Key\\nValue\\n", in AWS's order:
Message, MessageId, Subject (if present), Timestamp, TopicArn, Type for a Notification;
Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for a
(Un)SubscriptionConfirmation. SignatureVersion 1 is RSA PKCS#1 v1.5 over SHA1, 2 over
SHA256; version 1 only where the company allows it. The certificate is fetched (through
the injected `fetch_cert`, the only I/O) only from an https URL whose host the allow-list
matches (`sns.<region>.amazonaws.com[.cn]` by default), then cached by URL. Errors of
`fetch_cert` itself propagate unchanged: a certificate that cannot be fetched now is a
reason to retry, not a forgery.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from whisperer.api.signatures import SignatureError

DEFAULT_HOSTS = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_KEYS = {
    "Notification": NOTIFICATION_KEYS,
    "SubscriptionConfirmation": CONFIRMATION_KEYS,
    "UnsubscribeConfirmation": CONFIRMATION_KEYS,
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
CACHE_SIZE = 32

_certificates: dict[str, x509.Certificate] = {}
_lock = threading.Lock()


def verify(
    message: object,
    *,
    fetch_cert: Callable[[str], bytes],
    allowed_hosts: re.Pattern[str] = DEFAULT_HOSTS,
    allow_v1: bool = False,
) -> None:
    """Nothing if SNS signed `message` (the decoded body) as it is; else a SignatureError.
    SignatureVersion 1 (SHA1) only where `allow_v1`."""
    if not isinstance(message, Mapping):
        raise SignatureError("the body is not an SNS message (a JSON object)")
    version = message.get("SignatureVersion")
    algorithm = HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise SignatureError(f"unsupported SignatureVersion {str(version)[:10]!r}")
    if version == "1" and not allow_v1:
        raise SignatureError("SignatureVersion 1 (SHA1) is not allowed for this company")
    canonical = canonical_string(message).encode()
    signature = _signature(message)
    certificate = _certificate(
        _field(message, "SigningCertURL"), fetch_cert=fetch_cert, allowed_hosts=allowed_hosts
    )
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signing certificate's key is not RSA")
    try:
        key.verify(signature, canonical, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SignatureError("signature mismatch") from None


def canonical_string(message: Mapping[str, object]) -> str:
    """What SNS signed: "Key\\nValue\\n" for each signed key of this message type."""
    kind = _field(message, "Type")
    keys = SIGNED_KEYS.get(kind)
    if keys is None:
        raise SignatureError(f"unknown SNS message Type {kind[:40]!r}")
    return "".join(
        f"{key}\n{_field(message, key)}\n"
        for key in keys
        if not (key == "Subject" and message.get("Subject") is None)
    )


def check_url(url: str, *, allowed_hosts: re.Pattern[str] = DEFAULT_HOSTS) -> None:
    """Nothing if `url` is https on an allowed host (no user info); else a SignatureError.
    Fit for `SigningCertURL` and for a confirmation's `SubscribeURL` alike."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise SignatureError("the certificate URL is malformed") from None
    if parts.scheme != "https":
        raise SignatureError("the certificate URL is not https")
    if not host or parts.username or parts.password or not allowed_hosts.fullmatch(host):
        raise SignatureError(f"the certificate host {str(host)[:80]!r} is not allowed")


def clear_cache() -> None:
    """Forget every cached certificate (tests; a rotated certificate keeps its new URL)."""
    with _lock:
        _certificates.clear()


def _certificate(
    url: str, *, fetch_cert: Callable[[str], bytes], allowed_hosts: re.Pattern[str]
) -> x509.Certificate:
    check_url(url, allowed_hosts=allowed_hosts)
    with _lock:
        certificate = _certificates.get(url)
    if certificate is None:
        try:
            certificate = x509.load_pem_x509_certificate(fetch_cert(url))
        except ValueError:
            raise SignatureError("the signing certificate is not a PEM certificate") from None
        with _lock:
            while len(_certificates) >= CACHE_SIZE:
                del _certificates[next(iter(_certificates))]
            _certificates[url] = certificate
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SignatureError("the signing certificate is expired or not yet valid")
    return certificate


def _signature(message: Mapping[str, object]) -> bytes:
    try:
        return base64.b64decode(_field(message, "Signature"), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("Signature is not base64") from None


def _field(message: Mapping[str, object], key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise SignatureError(f"{key} is missing or not a string")
    return value
