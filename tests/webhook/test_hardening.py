"""Hostile and careless senders, over real HTTP against the real API server: each refusal is
the 4xx FORMATS.md calls for, with a reason, and never a 500."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from support.cluster import REPO, wait_for
from support.pki import https_server, self_signed, sign_sns
from support.shim import post, running_shim

from whisperer.api.fetch import https_getter
from whisperer.api.state import Settings
from whisperer.operator.kube import KubeClient

DEEP = 100_000


def generic(signature: str = "DiskSpaceLow", **extra: Any) -> dict[str, Any]:
    return {
        "asset_name": "pm-db01.acme.internal",
        "signature": signature,
        "severity": "high",
        "message": "disk 96% full",
        **extra,
    }


def raw_generic(**fields: str) -> bytes:
    """A generic alert with some fields spelled as raw JSON text."""
    spelled = {k: json.dumps(v) for k, v in generic().items()} | fields
    return ("{" + ",".join(f'"{k}": {v}' for k, v in spelled.items()) + "}").encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * DEEP + b"]" * DEEP, "nested deeper than 64"),
        (b'{"a":' * 80 + b"1" + b"}" * 80, "nested deeper than 64"),
        (raw_generic(occurred_at="1" + "0" * 5000), "5001 digits is too large"),
        (raw_generic(occurred_at="1e400"), "out of range"),
        (raw_generic(occurred_at="NaN"), "NaN is not a JSON number"),
        (raw_generic(occurred_at="-Infinity"), "-Infinity is not a JSON number"),
        (raw_generic(severity='"high", "severity": "low"'), "duplicate key 'severity'"),
        (raw_generic(asset_name='"db\\ud800"'), "unpaired surrogate \\ud800"),
        (raw_generic(message='"\\udfff"'), "unpaired surrogate \\udfff"),
        (raw_generic().replace(b"DiskSpaceLow", b"Disk\xffLow"), "not UTF-8 (byte"),
        (raw_generic(asset_name=json.dumps("h" * 300)), "over 253"),
        (raw_generic(signature=json.dumps("s" * 5000)), "over 1024"),
        (b'{"labels": {"a": "\\ud83d"}, ' + raw_generic()[1:], "unpaired surrogate"),
        (raw_generic(occurred_at='"0001-01-01T00:00:00Z"'), "not a plausible event time"),
    ],
    ids=[
        "deep-array",
        "deep-object",
        "huge-int",
        "huge-float",
        "nan",
        "infinity",
        "duplicate-key",
        "surrogate-asset",
        "surrogate-message",
        "latin-1",
        "long-asset",
        "long-signal",
        "surrogate-label",
        "go-zero-time",
    ],
)
def test_hostile_json_gets_400_with_the_reason(hooks: Any, raw: bytes, reason: str) -> None:
    status, problem, headers = post(hooks, "/v1/alerts/generic", None, raw=raw)
    assert status == 400, problem
    assert reason in problem["detail"], problem
    assert headers["Content-Type"].startswith("application/problem+json")


def test_surrogate_pairs_and_long_free_text_are_fine(hooks: Any, admin: KubeClient) -> None:
    signature = f"Emoji{uuid.uuid4().hex[:6]}"
    raw = raw_generic(
        signature=json.dumps(signature),
        message='"disk full \\ud83d\\ude00 ' + "x" * 20_000 + '"',
    )
    status, body, _ = post(hooks, "/v1/alerts/generic", None, raw=raw)
    assert status == 202, body
    spec = admin.get("alerts", body["alerts"][0], hooks.namespace)["spec"]
    assert spec["message"].startswith("disk full \U0001f600")
    assert len(spec["message"]) == 4096  # cut to what an Alert keeps, not refused


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/xml", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/x-www-form-urlencoded", 415),  # curl -d without -H: not on this endpoint
        ("application/json; charset=latin-1", 415),
        ("application/json; charset=UTF-8", 202),
        ("text/plain; charset=UTF-8", 202),
        ("application/vnd.whatever+json", 202),
    ],
)
def test_content_types(hooks: Any, content_type: str, status: int) -> None:
    got, body, headers = post(
        hooks, "/v1/alerts/generic", generic(), headers={"Content-Type": content_type}
    )
    assert got == status, body
    lowered = {k.lower(): v for k, v in headers.items()}
    if status == 415:
        assert "application/json" in body["detail"] and "application/json" in lowered["accept-post"]


def test_a_delivery_id_reused_with_another_body_is_refused(
    hooks: Any, admin: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = uuid.uuid4().hex
    first = generic(signature=f"First{delivery[:6]}")
    other = generic(signature=f"Other{delivery[:6]}")
    headers = {"X-Delivery-ID": delivery}
    status, body, _ = post(hooks, "/v1/alerts/generic", first, headers=headers)
    assert status == 202 and not body["duplicate"]
    status, again, _ = post(hooks, "/v1/alerts/generic", first, headers=headers)
    assert status == 202 and again["duplicate"] and again["alerts"] == body["alerts"]
    reused = hooks.state.metrics.rejected.labels("generic", "delivery_reused")
    before = reused._value.get()
    with caplog.at_level(logging.WARNING, logger="whisperer.api"):
        status, problem, _ = post(hooks, "/v1/alerts/generic", other, headers=headers)
    assert status == 422, problem
    assert "already used for another body" in problem["detail"]
    assert reused._value.get() == before + 1
    assert any(r.getMessage() == "delivery id reused with another body" for r in caplog.records)
    signals = {a["spec"]["rawSignal"] for a in admin.list("alerts", namespace=hooks.namespace)}
    assert first["signature"] in signals and other["signature"] not in signals


@pytest.mark.parametrize(
    ("path", "body", "headers", "field"),
    [
        ("/v1/alerts/generic", generic(), {"X-Delivery-ID": "d" * 256}, "x-delivery-id"),
        ("/v1/alerts/generic", generic(), {"X-Delivery-ID": "a\tb"}, "x-delivery-id"),
        ("/v1/alerts/generic", generic(), {"webhook-id": "w" * 300}, "webhook-id"),
        ("/v1/alerts/eventbridge", "eventbridge-id", {}, "id"),
    ],
    ids=["long", "tab", "webhook-id", "body-id"],
)
def test_bad_delivery_ids_get_400(
    hooks: Any, path: str, body: Any, headers: dict[str, str], field: str
) -> None:
    if body == "eventbridge-id":
        body = _sample("eventbridge", "firing") | {"id": "evt\n1"}
    status, problem, _ = post(hooks, path, body, headers=headers)
    assert status == 400, problem
    assert problem["field"] == field and "delivery id" in problem["detail"]
    ok = generic() if path.endswith("generic") else body | {"id": "d" * 255}
    assert post(hooks, path, ok, headers={"X-Delivery-ID": "d" * 255})[0] == 202


def test_an_unknown_alertmanager_version_gets_400_and_a_metric(hooks: Any) -> None:
    counter = hooks.state.metrics.rejected.labels("alertmanager", "unknown_version")
    before = counter._value.get()
    payload = _sample("alertmanager", "firing") | {"version": "5"}
    status, problem, _ = post(hooks, "/v1/alerts/alertmanager", payload)
    assert status == 400 and problem["field"] == "version", problem
    assert "unknown version '5'" in problem["detail"]
    assert counter._value.get() == before + 1
    assert post(hooks, "/v1/alerts/alertmanager", payload | {"version": "4"})[0] == 202


def _standard(secret: str, body: bytes, *, delivery: str, stamp: str) -> dict[str, str]:
    mac = hmac.digest(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": delivery,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def _ours(secret: str, body: bytes, stamp: str) -> dict[str, str]:
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={mac}", "X-Timestamp": stamp}


def test_every_authentication_failure_gets_one_body_and_logs_its_reason(
    hooks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(generic(signature=f"Auth{uuid.uuid4().hex[:6]}")).encode()
    now = int(time.time())
    secret, key = hooks.signed_secret, hooks.signed_key
    attempts = {
        "unknown or expired API key": (None, "aw_" + "x" * 43, {}),
        "mismatch": (None, key, _ours(secret, body + b" ", str(now))),
        "stale": (None, key, _ours(secret, body, str(now - 600))),
        "fraction": (None, key, _ours(secret, body, f"{now}.5")),
        "milliseconds": (None, key, _ours(secret, body, str(now * 1000))),
        "webhook-id may not contain": (
            None,
            key,
            _standard(secret, body, delivery="msg.1", stamp=str(now)),
        ),
        "missing signature": (None, key, {}),
    }
    seen: set[str] = set()
    with caplog.at_level(logging.INFO, logger="whisperer.api"):
        for _, presented, headers in attempts.values():
            status, problem, got = post(
                hooks, "/v1/alerts/generic", None, key=presented, raw=body, headers=headers
            )
            assert status == 401, problem
            problem.pop("requestId")
            seen.add(json.dumps(problem, sort_keys=True))
            assert got["WWW-Authenticate"] == "Bearer"
    assert len(seen) == 1, seen  # one body, whatever the cause
    reasons = [getattr(r, "reason", "") for r in caplog.records if r.getMessage() == "refused"]
    for cause in attempts:
        assert any(cause in reason for reason in reasons), (cause, reasons)
    good = _standard(secret, body, delivery="msg-1", stamp=str(now))
    assert post(hooks, "/v1/alerts/generic", None, key=key, raw=body, headers=good)[0] == 202


@contextlib.contextmanager
def sns_settings(state: Any, hooks: Any, admin: KubeClient, **sns: Any) -> Iterator[None]:
    """The plain company's spec.webhook.sns set to `sns` until the block ends, as the shim
    of `state` sees it."""
    api = client.CustomObjectsApi(admin.api_client)

    def apply(value: dict[str, Any] | None) -> None:
        api.patch_cluster_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            "companies",
            hooks.company,
            {"spec": {"webhook": {"sns": value}}},
        )
        expect = {"allowSignatureV1": False, "topicArns": [], **(value or {})}
        wait_for(
            lambda: (
                (tenant := state.registry.known(hooks.key))
                and tenant.company.spec.webhook.sns.model_dump(by_alias=True) == expect
            ),
            timeout=15,
            what="the shim to see the company's new SNS settings",
        )

    apply(sns)
    try:
        yield
    finally:
        apply(None)


def test_sns_signature_v1_and_topics_are_the_company_s_choice(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    key, cert, cert_key = self_signed(tmp_path)
    served = {"/SimpleNotificationService-test.pem": cert.read_bytes()}
    settings = Settings(sns_cert_hosts=re.compile(r"^127\.0\.0\.1$"), registry_refresh=0.5)
    with (
        https_server(cert, cert_key, served) as (base, hits),
        running_shim(hooks.webhook_kubeconfig, settings) as (url, state),
    ):
        state.fetch = https_getter(ca_file=str(cert))
        shim = type("S", (), {"url": url, "key": hooks.key})()
        text_plain = {"Content-Type": "text/plain; charset=UTF-8"}

        def signed(name: str, *, version: str = "2") -> dict[str, Any]:
            message = _sample("sns", name)
            message["MessageId"] = str(uuid.uuid4())
            message["SigningCertURL"] = f"{base}/SimpleNotificationService-test.pem"
            if "SubscribeURL" in message:
                message["SubscribeURL"] = f"{base}/?Action=ConfirmSubscription&Token=t"
            sign_sns(message, key, version=version)
            return message

        status, problem, _ = post(
            shim, "/v1/alerts/sns", signed("firing", version="1"), headers=text_plain
        )
        assert status == 401 and problem["detail"].startswith("authentication failed")
        assert post(shim, "/v1/alerts/sns", signed("firing"), headers=text_plain)[0] == 202
        topic = _sample("sns", "firing")["TopicArn"]
        other = topic.rsplit(":", 1)[0] + ":someone-else"
        with sns_settings(state, hooks, admin, allowSignatureV1=True, topicArns=[other]):
            for name in ("firing", "subscription-confirmation"):
                status, problem, _ = post(shim, "/v1/alerts/sns", signed(name), headers=text_plain)
                assert status == 403 and "allow-list" in problem["detail"], problem
            assert not any("ConfirmSubscription" in h for h in hits)  # never confirmed
        with sns_settings(state, hooks, admin, allowSignatureV1=True, topicArns=[topic]):
            status, body, _ = post(
                shim, "/v1/alerts/sns", signed("firing", version="1"), headers=text_plain
            )
            assert status == 202, body


def _sample(fmt: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (REPO / "tests" / "api" / "payloads" / fmt / f"{name}.json").read_text()
    )
    return loaded
