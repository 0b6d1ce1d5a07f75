"""Standard Webhooks signatures: the specification's published test vector, and what the
reference library (`standardwebhooks`) accepts."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from whisperer.operator.errors import DeliveryRefusedError
from whisperer.operator.notify import parse_secrets, sign, signed_headers

# From the standard-webhooks repository's own tests (libraries/python/tests/test_webhooks.py,
# test_sign_function).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_published_test_vector() -> None:
    keys = parse_secrets(VECTOR_SECRET)
    assert sign(keys, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
    # The prefix is optional, as in the reference library.
    assert parse_secrets(VECTOR_SECRET.removeprefix("whsec_")) == keys


def test_the_reference_library_verifies_our_headers() -> None:
    now = int(time.time())  # the library checks the timestamp against the wall clock
    body = b'{"type":"incident.assigned","data":{"name":"inc-1"}}'
    headers = signed_headers(
        parse_secrets(VECTOR_SECRET), msg_id="msg_assigned-0123", timestamp=now, body=body
    )
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(VECTOR_SECRET).verify(body, headers) == {
        "type": "incident.assigned",
        "data": {"name": "inc-1"},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(VECTOR_SECRET).verify(body + b" ", headers)


def test_a_rotation_signs_with_every_secret() -> None:
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    now = int(time.time())
    body = b"{}"
    headers = signed_headers(
        parse_secrets(f"{VECTOR_SECRET} {old}"), msg_id="msg_x", timestamp=now, body=body
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (VECTOR_SECRET, old):
        assert Webhook(secret).verify(body, headers) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("whsec_!@#$%^&*()", "not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "at least 24"),
    ],
)
def test_unusable_secrets_are_refused_for_good(value: str, message: str) -> None:
    with pytest.raises(DeliveryRefusedError, match=message):
        parse_secrets(value)


def test_an_id_with_a_dot_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        sign(parse_secrets(VECTOR_SECRET), msg_id="msg_a.b", timestamp=1, body=b"")
