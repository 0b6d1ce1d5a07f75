"""HMAC request signatures the shim accepts, checked over the raw body in constant time.

Four schemes, recognised by their header (first match wins, in this order):

    whisperer          X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
                       X-Timestamp: <unix seconds>              (our generic endpoint)
    standard-webhooks  webhook-id, webhook-timestamp, webhook-signature: v1,<base64 of
                       HMAC-SHA256(key, id + "." + timestamp + "." + body)>, several
                       space-separated during rotation; `whsec_<base64>` secrets are decoded
    grafana            X-Grafana-Alerting-Signature: <lower-case hex HMAC-SHA256 of the
                       body>, or of timestamp + ":" + body when a timestamp header
                       (X-Grafana-Alerting-Signature-Timestamp or X-Grafana-Alerting-Timestamp)
                       is sent
    github             X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>, no timestamp

Every active secret is tried (two during a rotation). A timestamp further than `tolerance`
seconds from now either way is refused, and so is one that is not whole unix seconds (a
fraction, milliseconds); a Standard Webhooks `webhook-id` may not contain `.`. Secrets are
used as their UTF-8 bytes, except `whsec_` secrets for Standard Webhooks. A SignatureError's
reason never holds a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence

TOLERANCE = 300
MAX_SECONDS_DIGITS = 11
"""Unix seconds have 10 digits until the year 2286; 13 digits are milliseconds."""
GRAFANA_TIMESTAMP_HEADERS = (
    "x-grafana-alerting-signature-timestamp",
    "x-grafana-alerting-timestamp",
)
WHSEC = "whsec_"


class SignatureError(ValueError):
    """The request's signature is missing, stale or wrong: 401. `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> str:
    """The scheme whose signature matched one of `secrets`, or a SignatureError.

    `headers` must have lower-cased keys (the router lower-cases them)."""
    if not secrets:
        raise SignatureError("no signing secret is configured")
    clock = time.time() if now is None else now
    if "x-signature" in headers:
        _whisperer(headers, body, secrets, now=clock, tolerance=tolerance)
        return "whisperer"
    if "webhook-signature" in headers:
        _standard(headers, body, secrets, now=clock, tolerance=tolerance)
        return "standard-webhooks"
    if "x-grafana-alerting-signature" in headers:
        _grafana(headers, body, secrets, now=clock, tolerance=tolerance)
        return "grafana"
    if "x-hub-signature-256" in headers:
        _expect_hex(headers["x-hub-signature-256"], body, secrets, prefix="sha256=")
        return "github"
    raise SignatureError(
        "missing signature (X-Signature, webhook-signature, X-Grafana-Alerting-Signature "
        "or X-Hub-Signature-256)"
    )


def _whisperer(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float, tolerance: int
) -> None:
    stamp = _timestamp(headers, "x-timestamp", now=now, tolerance=tolerance)
    _expect_hex(headers["x-signature"], stamp.encode() + b"." + body, secrets, prefix="sha256=")


def _grafana(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float, tolerance: int
) -> None:
    name = next((h for h in GRAFANA_TIMESTAMP_HEADERS if h in headers), None)
    signed = body
    if name is not None:
        stamp = _timestamp(headers, name, now=now, tolerance=tolerance)
        signed = stamp.encode() + b":" + body
    _expect_hex(headers["x-grafana-alerting-signature"], signed, secrets, prefix="")


def _standard(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float, tolerance: int
) -> None:
    delivery = headers.get("webhook-id", "").strip()
    if not delivery:
        raise SignatureError("missing webhook-id")
    if "." in delivery:  # "a.b" + "." + stamp would sign the same bytes as "a" + ".b."...
        raise SignatureError("webhook-id may not contain '.'")
    stamp = _timestamp(headers, "webhook-timestamp", now=now, tolerance=tolerance)
    given = list(_v1_signatures(headers["webhook-signature"]))
    if not given:
        raise SignatureError("no v1 signature in webhook-signature")
    signed = f"{delivery}.{stamp}.".encode() + body
    keys, unreadable = _standard_keys(secrets)
    for key in keys:
        expected = hmac.digest(key, signed, hashlib.sha256)
        if any(hmac.compare_digest(expected, sig) for sig in given):
            return
    note = f" (secret {', '.join(unreadable)} is whsec_ but not base64)" if unreadable else ""
    raise SignatureError(f"signature mismatch{note}")


def _v1_signatures(header: str) -> Iterable[bytes]:
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            yield base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue


def _standard_keys(secrets: Sequence[str]) -> tuple[list[bytes], list[str]]:
    """The HMAC keys, and the positions of `whsec_` secrets that do not decode."""
    keys: list[bytes] = []
    unreadable: list[str] = []
    for number, secret in enumerate(secrets, start=1):
        if not secret.startswith(WHSEC):
            keys.append(secret.encode())
            continue
        try:
            keys.append(base64.b64decode(secret[len(WHSEC) :], validate=True))
        except (binascii.Error, ValueError):
            unreadable.append(str(number))
    return keys, unreadable


def _expect_hex(given: str, signed: bytes, secrets: Sequence[str], *, prefix: str) -> None:
    """`given` (`<prefix><hex>`) must be HMAC-SHA256 of `signed` under one of `secrets`."""
    value = given.strip()
    if not value.startswith(prefix):
        raise SignatureError(f"malformed signature (expected {prefix or 'hex'}...)")
    candidate = value[len(prefix) :].lower().encode()
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, candidate):
            return
    raise SignatureError("signature mismatch")


def _timestamp(headers: Mapping[str, str], name: str, *, now: float, tolerance: int) -> str:
    """The header's unix seconds, as sent, if within `tolerance` of `now`."""
    raw = headers.get(name, "").strip()
    if not raw:
        raise SignatureError(f"missing {name}")
    if "." in raw:
        raise SignatureError(f"invalid {name}: a fraction, not whole unix seconds")
    if not raw.isascii() or not raw.isdigit():
        raise SignatureError(f"invalid {name}: not unix seconds")
    if len(raw) > MAX_SECONDS_DIGITS:
        raise SignatureError(f"invalid {name}: milliseconds or more, not unix seconds")
    skew = int(raw) - now
    if skew < -tolerance:
        raise SignatureError(f"stale timestamp: more than {tolerance} s old")
    if skew > tolerance:
        raise SignatureError(f"timestamp in the future: more than {tolerance} s ahead")
    return raw
