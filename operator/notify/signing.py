"""Standard Webhooks signatures (symmetric, `v1`): HMAC-SHA256 over "id.timestamp.body" with
a `whsec_<base64>` secret, sent as `webhook-id`, `webhook-timestamp` and `webhook-signature`.
Several secrets (a rotation) give several space-separated signatures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from whisperer.operator.errors import DeliveryRefusedError

PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the specification's minimum for a symmetric secret


def parse_secrets(value: str) -> list[bytes]:
    """The keys of a Secret value: one or more `whsec_<base64>` separated by spaces (the
    prefix is optional). A bad value is the MSP's to fix: DeliveryRefusedError names why."""
    keys: list[bytes] = []
    for index, part in enumerate(value.split()):
        encoded = part.removeprefix(PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeliveryRefusedError(f"signing secret {index + 1} is not base64") from exc
        if len(key) < MIN_KEY_BYTES:
            raise DeliveryRefusedError(
                f"signing secret {index + 1} has {len(key)} bytes; the Standard Webhooks "
                f"specification asks for at least {MIN_KEY_BYTES}"
            )
        keys.append(key)
    if not keys:
        raise DeliveryRefusedError("the signing secret is empty")
    return keys


def sign(keys: list[bytes], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64>` per key, space-separated."""
    if "." in msg_id:
        raise ValueError("a webhook id must not contain '.' (it delimits the signed content)")
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        for key in keys
    )


def headers(keys: list[bytes], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a signed delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(keys, msg_id=msg_id, timestamp=timestamp, body=body),
    }
