"""Request signatures: four schemes, rotation, replay windows, and reasons without secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from whisperer.api import signatures
from whisperer.api.signatures import SignatureError

NOW = 1795694400.0
BODY = b'{"asset_name":"pm-db01","signature":"disk_full","severity":"high"}'
OLD, NEW = "old-secret-0f3a", "new-secret-9b7c"


def hexmac(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def ours(secret: str, *, stamp: int = int(NOW), body: bytes = BODY) -> dict[str, str]:
    signature = hexmac(secret, f"{stamp}.".encode() + body)
    return {"x-signature": f"sha256={signature}", "x-timestamp": str(stamp)}


def verify(headers: dict[str, str], secrets: list[str], body: bytes = BODY) -> str:
    return signatures.verify(headers, body, secrets, now=NOW)


GITHUB_VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_published_vector() -> None:
    headers = {"x-hub-signature-256": GITHUB_VECTOR}
    assert verify(headers, ["It's a Secret to Everybody"], b"Hello, World!") == "github"
    with pytest.raises(SignatureError, match="mismatch"):
        verify(headers, ["It's a Secret to Everybody"], b"Hello, World?")


def test_our_scheme() -> None:
    assert verify(ours(NEW), [NEW]) == "whisperer"
    upper = ours(NEW) | {
        "x-signature": ours(NEW)["x-signature"].upper().replace("SHA256", "sha256")
    }
    assert verify(upper, [NEW]) == "whisperer"


def test_both_secrets_work_during_a_rotation() -> None:
    assert verify(ours(OLD), [OLD, NEW]) == "whisperer"
    assert verify(ours(NEW), [OLD, NEW]) == "whisperer"
    with pytest.raises(SignatureError, match="mismatch"):
        verify(ours("retired-secret"), [OLD, NEW])


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(SignatureError, match="mismatch"):
        verify(ours(NEW), [NEW], BODY.replace(b"high", b"info"))


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, "stale"), (301, "future"), (-3600, "stale")],
)
def test_timestamps_outside_the_window_are_refused(offset: int, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(ours(NEW, stamp=int(NOW) + offset), [NEW])


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_inside_the_window_are_accepted(offset: int) -> None:
    assert verify(ours(NEW, stamp=int(NOW) + offset), [NEW]) == "whisperer"


def test_the_window_is_configurable() -> None:
    headers = ours(NEW, stamp=int(NOW) - 400)
    assert signatures.verify(headers, BODY, [NEW], now=NOW, tolerance=600) == "whisperer"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({"x-signature": "sha256=00"}, "missing x-timestamp"),
        ({"x-signature": "sha256=00", "x-timestamp": "yesterday"}, "invalid x-timestamp"),
        ({"x-signature": "md5=00", "x-timestamp": str(int(NOW))}, "malformed"),
        ({"x-signature": "sha256=zz\u00e9", "x-timestamp": str(int(NOW))}, "mismatch"),
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(headers, [NEW])


def test_no_secret_configured_is_refused() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        verify(ours(NEW), [])


# Standard Webhooks: the vector is computed here, independently, with hmac and base64.
KEY_BYTES = b"\x8f\x1a" * 16
WHSEC = "whsec_" + base64.b64encode(KEY_BYTES).decode()


def standard(
    key: bytes, *, msg_id: str = "msg_2LkCzmm5Uc", stamp: int = int(NOW)
) -> dict[str, str]:
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + BODY, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def test_standard_webhooks_with_a_whsec_secret() -> None:
    assert verify(standard(KEY_BYTES), [WHSEC]) == "standard-webhooks"
    with pytest.raises(SignatureError, match="mismatch"):
        verify(standard(KEY_BYTES), [WHSEC.replace("whsec_", "")])  # the text is not the key


def test_standard_webhooks_with_a_plain_secret() -> None:
    assert verify(standard(NEW.encode()), [NEW]) == "standard-webhooks"


def test_standard_webhooks_several_signatures_during_rotation() -> None:
    headers = standard(KEY_BYTES)
    headers["webhook-signature"] = "v1,AAAA v1a,ignored " + headers["webhook-signature"]
    assert verify(headers, [WHSEC]) == "standard-webhooks"


def test_standard_webhooks_id_is_signed() -> None:
    headers = standard(KEY_BYTES) | {"webhook-id": "msg_other"}
    with pytest.raises(SignatureError, match="mismatch"):
        verify(headers, [WHSEC])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-signature": "v1a,abc"}, "no v1 signature"),
        ({"webhook-id": ""}, "missing webhook-id"),
        ({"webhook-timestamp": str(int(NOW) - 301)}, "stale"),
    ],
)
def test_standard_webhooks_refusals(change: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(standard(KEY_BYTES) | change, [WHSEC])


@pytest.mark.parametrize(
    ("msg_id", "stamp", "reason"),
    [
        ("msg.2LkCzmm5Uc", str(int(NOW)), "webhook-id may not contain '.'"),
        ("msg_2LkCzmm5Uc", f"{int(NOW)}.0", "a fraction"),
        ("msg_2LkCzmm5Uc", f"{NOW:.3f}", "a fraction"),
        ("msg_2LkCzmm5Uc", str(int(NOW) * 1000), "milliseconds"),
    ],
)
def test_standard_webhooks_ids_and_timestamps_that_could_shift_the_signed_text(
    msg_id: str, stamp: str, reason: str
) -> None:
    """Signed correctly, and refused all the same: `id.timestamp.body` is only unambiguous
    when neither part holds a dot, and only whole seconds are compared with the window."""
    mac = hmac.new(KEY_BYTES, f"{msg_id}.{stamp}.".encode() + BODY, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    with pytest.raises(SignatureError, match=reason):
        verify(headers, [WHSEC])


@pytest.mark.parametrize("stamp", [f"{int(NOW)}.25", str(int(NOW) * 1000), "1e9"])
def test_our_timestamps_are_whole_seconds(stamp: str) -> None:
    signature = hexmac(NEW, f"{stamp}.".encode() + BODY)
    with pytest.raises(SignatureError, match="invalid x-timestamp"):
        verify({"x-signature": f"sha256={signature}", "x-timestamp": stamp}, [NEW])


def test_a_whsec_secret_that_is_not_base64_is_named_by_position_only() -> None:
    broken = "whsec_!!not-base64!!"
    assert verify(standard(b"plain"), ["plain", broken]) == "standard-webhooks"
    with pytest.raises(SignatureError, match="secret 2") as caught:
        verify(standard(KEY_BYTES), ["plain", broken])
    assert "not-base64" not in str(caught.value)


def test_grafana_over_the_body() -> None:
    headers = {"x-grafana-alerting-signature": hexmac(NEW, BODY)}
    assert verify(headers, [OLD, NEW]) == "grafana"


@pytest.mark.parametrize(
    "header", ["x-grafana-alerting-signature-timestamp", "x-grafana-alerting-timestamp"]
)
def test_grafana_with_a_timestamp_signs_timestamp_colon_body(header: str) -> None:
    stamp = str(int(NOW) - 10)
    headers = {
        "x-grafana-alerting-signature": hexmac(NEW, f"{stamp}:".encode() + BODY),
        header: stamp,
    }
    assert verify(headers, [NEW]) == "grafana"
    with pytest.raises(SignatureError, match="mismatch"):  # not the body alone
        verify(headers | {"x-grafana-alerting-signature": hexmac(NEW, BODY)}, [NEW])
    with pytest.raises(SignatureError, match="stale"):
        verify(headers | {header: str(int(NOW) - 900)}, [NEW])


def test_no_reason_ever_holds_a_secret() -> None:
    secret = "sup3r-secret-value"
    attempts = [
        {},
        ours("wrong"),
        ours(secret, stamp=int(NOW) - 999),
        standard(b"wrong"),
        {"x-grafana-alerting-signature": "00"},
        {"x-hub-signature-256": "sha256=00"},
        {"x-hub-signature-256": "nope"},
    ]
    for headers in attempts:
        with pytest.raises(SignatureError) as caught:
            verify(headers, [secret, "whsec_" + secret])
        assert secret not in str(caught.value)
        assert secret not in caught.value.reason
