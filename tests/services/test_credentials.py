"""Company credentials: issue, rotate once per request, prune, check, and store in a Secret."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from whisperer.operator.services.credentials import (
    Credentials,
    SecretValue,
    ensure_hmac,
    issue,
    prune,
    rotate,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
GRACE = timedelta(hours=1)

API_KEY = re.compile(r"^aw_[A-Za-z0-9_-]{43}$")
URLSAFE_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def rotated(*, hmac_required: bool = True) -> tuple[Credentials, Credentials]:
    """Credentials issued at T0 and the same rotated at T1 with a one-hour grace."""
    before = issue(hmac_required=hmac_required, now=T0)
    return before, rotate(before, request="r1", grace=GRACE, now=T1)


# --- issue -------------------------------------------------------------------------------


@pytest.mark.parametrize("hmac_required", [True, False], ids=["hmac", "no-hmac"])
def test_issue_gives_one_key_and_hmac_only_when_required(hmac_required: bool) -> None:
    creds = issue(hmac_required=hmac_required, now=T0)

    assert len(creds.api_keys) == 1
    key = creds.api_keys[0]
    assert API_KEY.match(key.value), key.value
    assert (key.created_at, key.expires_at) == (T0, None)
    assert creds.current_api_key() == key.value
    assert creds.rotation == ""

    if hmac_required:
        assert len(creds.hmac_secrets) == 1
        secret = creds.hmac_secrets[0]
        assert URLSAFE_43.match(secret.value), secret.value
        assert (secret.created_at, secret.expires_at) == (T0, None)
        assert secret.value != key.value
    else:
        assert creds.hmac_secrets == ()


def test_issue_external_id_is_a_uuid() -> None:
    creds = issue(hmac_required=False, now=T0)
    parsed = uuid.UUID(creds.external_id)
    assert str(parsed) == creds.external_id
    assert parsed.version == 4


def test_issue_is_random_each_time() -> None:
    a, b = (issue(hmac_required=True, now=T0) for _ in range(2))
    assert a.current_api_key() != b.current_api_key()
    assert a.hmac_secrets[0].value != b.hmac_secrets[0].value
    assert a.external_id != b.external_id


def test_issue_keeps_times_to_the_second() -> None:
    creds = issue(hmac_required=True, now=T0.replace(microsecond=987654))
    assert creds.api_keys[0].created_at == T0
    assert creds.hmac_secrets[0].created_at == T0


# --- rotate ------------------------------------------------------------------------------


def test_rotate_adds_a_new_key_and_keeps_the_old_for_the_grace() -> None:
    before, after = rotated()

    old, new = after.api_keys
    assert old == replace(before.api_keys[0], expires_at=T1 + GRACE)
    assert API_KEY.match(new.value)
    assert new.value != old.value
    assert (new.created_at, new.expires_at) == (T1, None)
    assert after.current_api_key() == new.value
    assert after.rotation == "r1"
    assert after.external_id == before.external_id


def test_rotate_rotates_the_hmac_secret_too() -> None:
    before, after = rotated()

    old, new = after.hmac_secrets
    assert old == replace(before.hmac_secrets[0], expires_at=T1 + GRACE)
    assert URLSAFE_43.match(new.value)
    assert new.value != old.value
    assert (new.created_at, new.expires_at) == (T1, None)


def test_rotate_without_hmac_adds_no_hmac() -> None:
    _, after = rotated(hmac_required=False)
    assert after.hmac_secrets == ()
    assert len(after.api_keys) == 2


def test_rotate_with_the_same_request_twice_is_a_no_op() -> None:
    _, once = rotated()
    twice = rotate(once, request="r1", grace=GRACE, now=T1 + timedelta(minutes=5))
    assert twice == once
    assert twice.current_api_key() == once.current_api_key()


def test_rotate_with_a_new_request_rotates_again() -> None:
    _, once = rotated()
    twice = rotate(once, request="r2", grace=GRACE, now=T1 + timedelta(minutes=5))
    assert len(twice.api_keys) == 3
    assert twice.current_api_key() not in {k.value for k in once.api_keys}
    assert twice.rotation == "r2"


def test_rotate_keeps_the_expiry_of_an_already_expiring_key() -> None:
    _, once = rotated()
    t2 = T1 + timedelta(minutes=30)
    twice = rotate(once, request="r2", grace=timedelta(hours=5), now=t2)

    assert [k.expires_at for k in twice.api_keys] == [T1 + GRACE, t2 + timedelta(hours=5), None]
    assert [s.expires_at for s in twice.hmac_secrets] == [
        T1 + GRACE,
        t2 + timedelta(hours=5),
        None,
    ]


def test_rotate_keeps_times_to_the_second() -> None:
    before = issue(hmac_required=False, now=T0)
    after = rotate(before, request="r1", grace=GRACE, now=T1.replace(microsecond=5))
    assert after.api_keys[-1].created_at == T1
    assert after.api_keys[0].expires_at == T1 + GRACE


# --- prune -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "kept"),
    [
        (T1, 2),
        (T1 + GRACE - timedelta(seconds=1), 2),
        (T1 + GRACE, 1),
        (T1 + timedelta(days=3650), 1),
    ],
    ids=["rotated-just-now", "last-second-of-grace", "grace-over", "years-later"],
)
def test_prune_drops_expired_and_never_the_newest(now: datetime, kept: int) -> None:
    _, creds = rotated()
    pruned = prune(creds, now=now)

    assert pruned.api_keys == creds.api_keys[-kept:]
    assert pruned.hmac_secrets == creds.hmac_secrets[-kept:]
    assert pruned.current_api_key() == creds.current_api_key()
    assert (pruned.external_id, pruned.rotation) == (creds.external_id, creds.rotation)


def test_prune_of_fresh_credentials_changes_nothing() -> None:
    creds = issue(hmac_required=True, now=T0)
    assert prune(creds, now=T0 + timedelta(days=3650)) == creds


# --- accepts_api_key / valid_hmac_secrets ------------------------------------------------


def _old(c: Credentials) -> str:
    return c.api_keys[0].value


def _new(c: Credentials) -> str:
    return c.api_keys[-1].value


@pytest.mark.parametrize(
    ("presented", "now", "accepted"),
    [
        (_new, T1, True),
        (_new, T1 + timedelta(days=3650), True),
        (_old, T1, True),
        (_old, T1 + GRACE - timedelta(seconds=1), True),
        (_old, T1 + GRACE, False),
        (lambda c: "aw_" + "A" * 43, T1, False),
        (lambda c: "", T1, False),
        (lambda c: _new(c) + "x", T1, False),
        (lambda c: _new(c)[:-1], T1, False),
        (lambda c: "aw_", T1, False),
        (lambda c: _new(c).upper(), T1, False),
        (lambda c: c.hmac_secrets[-1].value, T1, False),
    ],
    ids=[
        "current",
        "current-years-later",
        "previous-in-grace",
        "previous-last-second",
        "previous-expired",
        "unknown-same-length",
        "empty",
        "longer",
        "shorter",
        "prefix-only",
        "wrong-case",
        "hmac-secret-is-not-a-key",
    ],
)
def test_accepts_api_key(
    presented: Callable[[Credentials], str], now: datetime, accepted: bool
) -> None:
    _, creds = rotated()
    assert creds.accepts_api_key(presented(creds), now=now) is accepted


@pytest.mark.parametrize(
    ("now", "indexes"),
    [(T1, [0, 1]), (T1 + GRACE - timedelta(seconds=1), [0, 1]), (T1 + GRACE, [1])],
    ids=["in-grace", "last-second", "grace-over"],
)
def test_valid_hmac_secrets(now: datetime, indexes: list[int]) -> None:
    _, creds = rotated()
    assert creds.valid_hmac_secrets(now=now) == [creds.hmac_secrets[i].value for i in indexes]


def test_valid_hmac_secrets_without_hmac_is_empty() -> None:
    assert issue(hmac_required=False, now=T0).valid_hmac_secrets(now=T0) == []


# --- ensure_hmac -------------------------------------------------------------------------


def test_ensure_hmac_adds_a_secret_when_required_and_missing() -> None:
    creds = issue(hmac_required=False, now=T0)
    out = ensure_hmac(creds, required=True, now=T1.replace(microsecond=42))

    assert len(out.hmac_secrets) == 1
    secret = out.hmac_secrets[0]
    assert URLSAFE_43.match(secret.value)
    assert (secret.created_at, secret.expires_at) == (T1, None)
    assert out.api_keys == creds.api_keys
    assert (out.external_id, out.rotation) == (creds.external_id, creds.rotation)


@pytest.mark.parametrize(
    ("has_hmac", "required"),
    [(False, False), (True, True), (True, False)],
    ids=["not-required-none", "required-present", "not-required-present-is-kept"],
)
def test_ensure_hmac_otherwise_changes_nothing(has_hmac: bool, required: bool) -> None:
    creds = issue(hmac_required=has_hmac, now=T0)
    assert ensure_hmac(creds, required=required, now=T1) == creds


# --- Secret data -------------------------------------------------------------------------


def test_secret_data_layout() -> None:
    _, creds = rotated()
    data = creds.to_secret_data()

    assert set(data) == {
        "api-key",
        "api-keys.json",
        "external-id",
        "rotation",
        "hmac-secret",
        "hmac-secrets.json",
    }
    assert data["api-key"] == creds.current_api_key()
    assert data["hmac-secret"] == creds.hmac_secrets[-1].value
    assert (data["external-id"], data["rotation"]) == (creds.external_id, "r1")
    assert json.loads(data["api-keys.json"]) == [
        {
            "value": creds.api_keys[0].value,
            "createdAt": "2026-01-01T12:00:00Z",
            "expiresAt": "2026-01-01T14:00:00Z",
        },
        {"value": creds.api_keys[1].value, "createdAt": "2026-01-01T13:00:00Z", "expiresAt": None},
    ]
    assert all(isinstance(v, str) for v in data.values())


def test_secret_data_without_hmac_has_no_hmac_keys() -> None:
    data = issue(hmac_required=False, now=T0).to_secret_data()
    assert "hmac-secret" not in data
    assert "hmac-secrets.json" not in data


def test_secret_data_is_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    creds = issue(hmac_required=False, now=datetime(2026, 1, 1, 14, 0, tzinfo=plus_two))
    stored = json.loads(creds.to_secret_data()["api-keys.json"])
    assert stored[0]["createdAt"] == "2026-01-01T12:00:00Z"


def _issued_with_hmac() -> Credentials:
    return issue(hmac_required=True, now=T0)


def _issued_without_hmac() -> Credentials:
    return issue(hmac_required=False, now=T0)


def _issued_with_microseconds() -> Credentials:
    return issue(hmac_required=True, now=T0.replace(microsecond=123456))


def _issued_off_utc() -> Credentials:
    return issue(hmac_required=True, now=datetime(2026, 1, 1, 8, 0, tzinfo=timezone(-GRACE)))


def _rotated_once() -> Credentials:
    return rotated()[1]


def _rotated_twice() -> Credentials:
    return rotate(rotated()[1], request="r2", grace=timedelta(minutes=90), now=T1)


def _hmac_added_later() -> Credentials:
    return ensure_hmac(issue(hmac_required=False, now=T0), required=True, now=T1)


@pytest.mark.parametrize(
    "make",
    [
        _issued_with_hmac,
        _issued_without_hmac,
        _issued_with_microseconds,
        _issued_off_utc,
        _rotated_once,
        _rotated_twice,
        _hmac_added_later,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_secret_data_round_trip(make: Callable[[], Credentials]) -> None:
    creds = make()
    back = Credentials.from_secret_data(creds.to_secret_data())
    assert back == creds
    assert back.to_secret_data() == creds.to_secret_data()


def test_secret_data_round_trip_after_a_sub_second_grace() -> None:
    creds = rotate(
        issue(hmac_required=False, now=T0), request="r1", grace=timedelta(seconds=1.5), now=T1
    )
    assert Credentials.from_secret_data(creds.to_secret_data()) == creds


def test_from_secret_data_without_rotation_reads_empty_rotation() -> None:
    data = issue(hmac_required=False, now=T0).to_secret_data()
    del data["rotation"]
    assert Credentials.from_secret_data(data).rotation == ""


def test_secret_value_valid_until_its_expiry() -> None:
    value = SecretValue("v", T0, expires_at=T1)
    assert value.valid(T1 - timedelta(seconds=1))
    assert not value.valid(T1)
    assert SecretValue("v", T0).valid(T0 + timedelta(days=3650))
