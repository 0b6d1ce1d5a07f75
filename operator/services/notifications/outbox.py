"""The outbox: one entry per message, keyed deterministically by (incident, episode, kind,
level, recipient, channel), recorded before anything is sent, moved on by each attempt.

Pure data and transitions. The operator stores the entries on the Incident through its one
incident writer; a rerun that finds an entry with the same key does not send again, so a
restart (or a storm that asks for the same message a thousand times) sends it once.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.notifications.retry import GiveUp, RetryPolicy

State = Literal["pending", "sent", "failed", "cancelled"]
MAX_ERROR = 512


@dataclass(frozen=True)
class OutboxKey:
    """What makes a message the same message.

    `level` is the step within its kind: the escalation level ("1", "2", ...), the clock of
    an SLA warning or breach ("response", "resolution"), the run of a run message (its
    name), empty otherwise. `episode` counts reopenings, so a reopened incident can be
    assigned, warned about and resolved again. `recipient` is the address written to (an
    email address, a phone number) or `#<channel>` for a room, so a room that several
    people chose gets one post.
    """

    incident: str  # namespace/name
    kind: MessageKind
    recipient: str
    channel: str
    level: str = ""
    episode: int = 0

    @property
    def id(self) -> str:
        """A short stable id: the outbox's map key, the email Message-ID's left part and the
        webhook-id (without dots, as the Standard Webhooks signature needs)."""
        parts = (
            self.incident,
            str(self.episode),
            str(self.kind),
            self.level,
            self.recipient.lower(),
            self.channel,
        )
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return f"{self.kind}-{digest[:24]}"


@dataclass(frozen=True)
class OutboxEntry:
    """One message's progress."""

    key: OutboxKey
    state: State
    due_at: datetime  # the next attempt (quiet hours, a rate limit or a retry set it)
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    receipt: str = ""  # what the receiver said (a message id, an HTTP status)

    @property
    def id(self) -> str:
        """The key's id."""
        return self.key.id

    def as_status(self) -> dict[str, Any]:
        """The form kept in an Incident's status (camelCase, times as RFC 3339)."""
        body: dict[str, Any] = {
            "id": self.id,
            "kind": str(self.key.kind),
            "level": self.key.level,
            "recipient": self.key.recipient,
            "channel": self.key.channel,
            "episode": self.key.episode,
            "state": self.state,
            "attempts": self.attempts,
            "dueAt": _rfc3339(self.due_at),
        }
        if self.last_error:
            body["lastError"] = self.last_error
        if self.sent_at is not None:
            body["sentAt"] = _rfc3339(self.sent_at)
        if self.receipt:
            body["receipt"] = self.receipt
        return body

    @classmethod
    def from_status(cls, incident: str, body: dict[str, Any]) -> OutboxEntry:
        """Back from the status form."""
        key = OutboxKey(
            incident=incident,
            kind=MessageKind(body["kind"]),
            recipient=body["recipient"],
            channel=body["channel"],
            level=body.get("level", ""),
            episode=int(body.get("episode", 0)),
        )
        sent = body.get("sentAt")
        return cls(
            key=key,
            state=body["state"],
            due_at=datetime.fromisoformat(body["dueAt"]),
            attempts=int(body.get("attempts", 0)),
            last_error=body.get("lastError", ""),
            sent_at=datetime.fromisoformat(sent) if sent else None,
            receipt=body.get("receipt", ""),
        )


def _rfc3339(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def record(key: OutboxKey, *, now: datetime, not_before: datetime | None = None) -> OutboxEntry:
    """The intent, written before the first attempt."""
    return OutboxEntry(key=key, state="pending", due_at=max(now, not_before or now))


def new_entries(
    wanted: list[tuple[OutboxKey, datetime | None]],
    existing: dict[str, OutboxEntry],
    *,
    now: datetime,
) -> list[OutboxEntry]:
    """The entries to record for what is wanted now (key, not before), leaving out every
    key already in the outbox, whatever its state: a message is recorded once, ever."""
    fresh: dict[str, OutboxEntry] = {}
    for key, not_before in wanted:
        if key.id not in existing and key.id not in fresh:
            fresh[key.id] = record(key, now=now, not_before=not_before)
    return list(fresh.values())


def due(entries: list[OutboxEntry], *, now: datetime) -> list[OutboxEntry]:
    """Pending entries whose time has come, oldest first."""
    return sorted(
        (e for e in entries if e.state == "pending" and e.due_at <= now),
        key=lambda e: (e.due_at, e.id),
    )


def postponed(entry: OutboxEntry, *, until: datetime) -> OutboxEntry:
    """Not attempted yet (a rate limit): try at `until`, no attempt counted."""
    return replace(entry, due_at=max(entry.due_at, until))


def sent(entry: OutboxEntry, *, now: datetime, receipt: str = "") -> OutboxEntry:
    """The receiver accepted it."""
    return replace(
        entry,
        state="sent",
        attempts=entry.attempts + 1,
        sent_at=now,
        last_error="",
        receipt=receipt[:256],
    )


def failed(
    entry: OutboxEntry,
    error: BaseException,
    *,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
) -> OutboxEntry:
    """An attempt failed: pending again at the policy's time, or failed for good."""
    attempt = entry.attempts + 1
    decision = policy.decide(attempt=attempt, error=error, now=now, rng=rng)
    if isinstance(decision, GiveUp):
        return replace(
            entry, state="failed", attempts=attempt, last_error=decision.reason[:MAX_ERROR]
        )
    return replace(entry, attempts=attempt, due_at=decision.at, last_error=str(error)[:MAX_ERROR])


def cancelled(entry: OutboxEntry, *, reason: str) -> OutboxEntry:
    """Not sent, and never will be: its message is no longer news (the incident was
    responded to, reassigned or resolved while the entry waited)."""
    return replace(entry, state="cancelled", last_error=reason[:MAX_ERROR])
