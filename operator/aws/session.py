"""The door to AWS: one boto3 session on the MSP's own credentials (the standard chain),
clients made and kept per service, region and credentials, and STS AssumeRole into a
company's role with its external id, the session credentials kept until shortly before
they expire."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from whisperer.operator.aws.faults import code_of, message_of, translate
from whisperer.operator.aws.settings import AwsSettings
from whisperer.operator.clock import Clock
from whisperer.operator.errors import AssumeRoleDeniedError, InvalidError

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::([0-9]{12}):role/[A-Za-z0-9_+=,.@/-]{1,200}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_SESSION_CHAR = re.compile(r"[^\w+=,.@-]")
MAX_CLIENTS = 256
MAX_SESSIONS = 1024


def session_name(*parts: str) -> str:
    """A RoleSessionName naming the run (`aw-<namespace>-<run>`): STS's alphabet
    ([A-Za-z0-9_+=,.@-]), 2 to 64 characters; a long name keeps its start and a hash of the
    whole, so two runs never share a name. It shows in the company's CloudTrail."""
    whole = "-".join(("aw", *parts))
    clean = _SESSION_CHAR.sub("-", whole)
    if len(clean) <= 64 and clean == whole:
        return clean
    digest = hashlib.sha256(whole.encode("utf-8")).hexdigest()[:10]
    return f"{clean[:53]}-{digest}"


@dataclass(frozen=True)
class RoleCredentials:
    """Session credentials for a company's role, from AssumeRole."""

    role_arn: str
    session_name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    @property
    def account_id(self) -> str:
        """The company's account (from the role's ARN)."""
        return self.role_arn.split(":")[4]


class Aws:
    """Clients and sessions; thread-safe (boto3 clients are, its Session is not, so making
    a client takes a lock)."""

    def __init__(
        self,
        settings: AwsSettings,
        *,
        clock: Clock,
        session: boto3.session.Session | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        # The standard chain (environment, profile, web identity, instance role), resolved
        # by boto3 when a client first needs it.
        self._session = session if session is not None else boto3.session.Session()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None, str | None, bool], Any] = {}
        self._sessions: dict[tuple[str, str, str], RoleCredentials] = {}

    # -- clients ---------------------------------------------------------------------------

    def client(
        self,
        service: str,
        *,
        region: str | None = None,
        credentials: RoleCredentials | None = None,
        changes: bool = False,
    ) -> Any:
        """A botocore client for `service`: the MSP's own credentials, or a company's role.

        `changes`: the client is used for calls that change something; it never retries on
        its own (a retry after a lost answer could do the thing twice). Endpoints come from
        AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> as botocore reads them: we never pass
        `endpoint_url`.
        """
        key = (service, region, credentials.access_key_id if credentials else None, changes)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            attempts = 1 if changes else self.settings.read_attempts
            config = Config(
                connect_timeout=self.settings.connect_timeout,
                read_timeout=self.settings.read_timeout,
                retries={"mode": "standard", "total_max_attempts": attempts},
                user_agent_extra="alert-whisperer",
            )
            kwargs: dict[str, Any] = {"config": config}
            if region:
                kwargs["region_name"] = region
            if credentials is not None:
                kwargs["aws_access_key_id"] = credentials.access_key_id
                kwargs["aws_secret_access_key"] = credentials.secret_access_key
                kwargs["aws_session_token"] = credentials.session_token
            try:
                client = self._session.client(service, **kwargs)  # type: ignore[call-overload]
            except BotoCoreError as exc:
                raise translate(
                    exc, action=f"{service} client", changes=False, throttle_delay=0
                ) from exc
            if len(self._clients) >= MAX_CLIENTS:
                self._clients.pop(next(iter(self._clients)))
            self._clients[key] = client
            return client

    # -- STS -------------------------------------------------------------------------------

    def assume_role(
        self,
        *,
        role_arn: str,
        external_id: str,
        session: str,
        region: str | None = None,
    ) -> RoleCredentials:
        """Session credentials for `role_arn` (with the company's `external_id`; `session`
        names the run, see `session_name`), from the cache while they stay valid for
        `refresh_before_seconds` more.

        Refused (AccessDenied: the trust policy, the external id, or our own policy): an
        AssumeRoleDeniedError naming the role. Throttled: ThrottledError.
        """
        if not ROLE_ARN.match(role_arn):
            raise InvalidError(f"not an IAM role ARN: {role_arn!r}")
        if not EXTERNAL_ID.match(external_id):
            raise InvalidError("the external id must be 2-1224 characters of [\\w+=,.@:/-]")
        if not 2 <= len(session) <= 64 or _SESSION_CHAR.search(session):
            raise InvalidError(f"not a RoleSessionName (use session_name()): {session!r}")
        key = (role_arn, external_id, session)
        now = self.clock.now()
        margin = timedelta(seconds=self.settings.refresh_before_seconds)
        with self._lock:
            cached = self._sessions.get(key)
        if cached is not None and cached.expiration - margin > now:
            return cached
        sts: STSClient = self.client("sts", region=region)
        try:
            answer = sts.assume_role(
                RoleArn=role_arn,
                RoleSessionName=session,
                ExternalId=external_id,
                DurationSeconds=self.settings.session_seconds,
            )
        except ClientError as exc:
            if code_of(exc) == "AccessDenied":
                raise AssumeRoleDeniedError(
                    f"STS refused to assume {role_arn}: {message_of(exc)}", role_arn=role_arn
                ) from exc
            raise translate(
                exc,
                action=f"sts:AssumeRole {role_arn}",
                changes=False,
                throttle_delay=self.settings.throttle_delay,
            ) from exc
        except BotoCoreError as exc:
            raise translate(
                exc,
                action=f"sts:AssumeRole {role_arn}",
                changes=False,
                throttle_delay=self.settings.throttle_delay,
            ) from exc
        raw = answer["Credentials"]
        credentials = RoleCredentials(
            role_arn=role_arn,
            session_name=session,
            access_key_id=raw["AccessKeyId"],
            secret_access_key=raw["SecretAccessKey"],
            session_token=raw["SessionToken"],
            expiration=raw["Expiration"].astimezone(UTC),
        )
        with self._lock:
            old = self._sessions.pop(key, None)
            if old is not None:
                self._drop_clients(old.access_key_id)
            if len(self._sessions) >= MAX_SESSIONS:
                for stale in [k for k, c in self._sessions.items() if c.expiration <= now]:
                    self._drop_clients(self._sessions.pop(stale).access_key_id)
                if len(self._sessions) >= MAX_SESSIONS:
                    self._drop_clients(self._sessions.pop(next(iter(self._sessions))).access_key_id)
            self._sessions[key] = credentials
        return credentials

    def forget(self, credentials: RoleCredentials) -> None:
        """Drop these session credentials (AWS said they expired): the next call assumes the
        role again."""
        with self._lock:
            for key, cached in list(self._sessions.items()):
                if cached.access_key_id == credentials.access_key_id:
                    del self._sessions[key]
            self._drop_clients(credentials.access_key_id)

    def _drop_clients(self, access_key_id: str) -> None:
        for key in [k for k in self._clients if k[2] == access_key_id]:
            del self._clients[key]


__all__ = ["Aws", "RoleCredentials", "session_name"]
