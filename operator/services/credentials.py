"""A company's credentials: API keys, HMAC secrets and the AWS external id, with rotation.

The credentials live in one Secret in the platform namespace. Every change is one atomic
update of that Secret, and a rotation records the request that caused it in the same update,
so a rotation requested once happens once even if the operator dies halfway.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from whisperer.operator.clock import rfc3339

API_KEY_PREFIX = "aw_"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _second(when: datetime | None) -> datetime:
    """Times are stored to the second; keep them so in memory too, so comparisons hold."""
    return (when or _now()).replace(microsecond=0)


def _iso(when: datetime | None) -> str | None:
    return rfc3339(when) if when else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def new_api_key() -> str:
    """`aw_` and 43 url-safe characters (32 random bytes)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SecretValue:
    """One API key or HMAC secret, valid until `expires_at` (None: until rotated)."""

    value: str
    created_at: datetime
    expires_at: datetime | None = None

    def valid(self, now: datetime) -> bool:
        """Whether it may still be used."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Credentials:
    """Everything secret about one company."""

    api_keys: tuple[SecretValue, ...]
    hmac_secrets: tuple[SecretValue, ...] = ()
    external_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rotation: str = ""
    """The rotation request (annotation value) that produced the current keys."""

    def current_api_key(self) -> str:
        """The newest key: the one to hand out."""
        return self.api_keys[-1].value

    def accepts_api_key(self, presented: str, *, now: datetime | None = None) -> bool:
        """Whether a presented key is one of the valid keys (constant-time compare)."""
        now = now or _now()
        matched = False
        for key in self.api_keys:
            same = hmac.compare_digest(key.value.encode(), presented.encode())
            matched |= same and key.valid(now)
        return matched

    def valid_hmac_secrets(self, *, now: datetime | None = None) -> list[str]:
        """Every HMAC secret a signature may be checked against right now."""
        now = now or _now()
        return [s.value for s in self.hmac_secrets if s.valid(now)]

    def to_secret_data(self) -> dict[str, str]:
        """The Secret's stringData."""

        def dump(items: tuple[SecretValue, ...]) -> str:
            return json.dumps(
                [
                    {
                        "value": s.value,
                        "createdAt": _iso(s.created_at),
                        "expiresAt": _iso(s.expires_at),
                    }
                    for s in items
                ],
                indent=1,
            )

        data = {
            "api-key": self.current_api_key(),
            "api-keys.json": dump(self.api_keys),
            "external-id": self.external_id,
            "rotation": self.rotation,
        }
        if self.hmac_secrets:
            data["hmac-secret"] = self.hmac_secrets[-1].value
            data["hmac-secrets.json"] = dump(self.hmac_secrets)
        return data

    @classmethod
    def from_secret_data(cls, data: dict[str, str]) -> Credentials:
        """Read back what to_secret_data wrote (already base64-decoded)."""

        def load(text: str | None) -> tuple[SecretValue, ...]:
            return tuple(
                SecretValue(
                    i["value"], _parse(i["createdAt"]) or _now(), _parse(i.get("expiresAt"))
                )
                for i in json.loads(text or "[]")
            )

        return cls(
            api_keys=load(data.get("api-keys.json")),
            hmac_secrets=load(data.get("hmac-secrets.json")),
            external_id=data["external-id"],
            rotation=data.get("rotation", ""),
        )


def issue(*, hmac_required: bool, now: datetime | None = None) -> Credentials:
    """Fresh credentials for a new company."""
    now = _second(now)
    return Credentials(
        api_keys=(SecretValue(new_api_key(), now),),
        hmac_secrets=(SecretValue(secrets.token_urlsafe(32), now),) if hmac_required else (),
    )


def rotate(
    creds: Credentials, *, request: str, grace: timedelta, now: datetime | None = None
) -> Credentials:
    """New key (and HMAC secret); the current ones stay valid for `grace`.

    Asking again with the same request changes nothing: that is what makes it once-only.
    """
    if creds.rotation == request:
        return creds
    now = _second(now)

    def roll(items: tuple[SecretValue, ...], fresh: str) -> tuple[SecretValue, ...]:
        kept = tuple(
            s if s.expires_at is not None else replace(s, expires_at=_second(now + grace))
            for s in items
        )
        return (*kept, SecretValue(fresh, now))

    return replace(
        creds,
        api_keys=roll(creds.api_keys, new_api_key()),
        hmac_secrets=roll(creds.hmac_secrets, secrets.token_urlsafe(32))
        if creds.hmac_secrets
        else (),
        rotation=request,
    )


def ensure_hmac(creds: Credentials, *, required: bool, now: datetime | None = None) -> Credentials:
    """Add an HMAC secret when a company starts requiring signatures."""
    if not required or creds.hmac_secrets:
        return creds
    return replace(creds, hmac_secrets=(SecretValue(secrets.token_urlsafe(32), _second(now)),))


def prune(creds: Credentials, *, now: datetime | None = None) -> Credentials:
    """Drop what has expired (the newest key never expires)."""
    now = now or _now()
    return replace(
        creds,
        api_keys=tuple(s for s in creds.api_keys if s.valid(now)),
        hmac_secrets=tuple(s for s in creds.hmac_secrets if s.valid(now)),
    )
