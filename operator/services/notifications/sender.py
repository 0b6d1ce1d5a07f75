"""The sender: every pending outbox entry of every incident the operator watches, in one
heap by due time; at its time an entry is checked against the incident as it is now (a
message that is no longer news is cancelled, not sent), written for its reader, handed to
its channel and moved on in the incident's status, through the incident writer.

Once, and never in the way:

- The entry (the intent) is stored before any attempt (`planner.py`, in the write that
  recorded what called for it). The sender only ever moves an entry it found pending, with
  the attempts it found (`planner.replaced`): two attempts cannot both record.
- A kill after the intent and before the send sends it after the restart, once. A kill
  between the receiver's acceptance and the write of `sent` sends it again after the
  restart, with the same id (the email's Message-ID, the webhook-id): at-least-once in that
  window of one request, with what receivers deduplicate by (docs/notifications.md).
- Correlation never waits on a send: the sender runs on its own task, bounded in flight.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from whisperer.operator.clock import Clock, rfc3339
from whisperer.operator.models.v1alpha1 import (
    Company,
    Incident,
    MessageKind,
    Runbook,
    RunbookExecution,
)
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.facts import AssetFacts
from whisperer.operator.services.incident_writer import (
    Change,
    EventSpec,
    IncidentWriter,
    Owner,
    Update,
)
from whisperer.operator.services.notifications import messages, outbox
from whisperer.operator.services.notifications.dispatch import Dispatcher, attempt, compose
from whisperer.operator.services.notifications.messages import Message, SlaClock
from whisperer.operator.services.notifications.outbox import OutboxEntry
from whisperer.operator.services.notifications.planner import (
    NotificationPlanner,
    pending,
    replaced,
)
from whisperer.operator.services.notifications.ratelimit import RateLimiter
from whisperer.operator.services.notifications.recipients import Delivery
from whisperer.operator.services.notifications.render import Renderer
from whisperer.operator.services.notifications.retry import RetryPolicy
from whisperer.operator.services.notifications.views import (
    IncidentView,
    RecipientView,
    approval_text,
    chain,
    incident_view,
    run_view,
    runbook_view,
)
from whisperer.operator.services.remediation import choose_runbook
from whisperer.operator.services.tenancy import company_of_namespace, namespace_name

log = logging.getLogger(__name__)

Key = tuple[str, str]
RunReader = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
"""A RunbookExecution's body by namespace and name (None: there is none)."""
Outcome = Callable[[str, str], None]
"""Told (channel type, state) after every attempt: for the metrics."""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class _Context:
    """What building any message of one incident needs."""

    incident: Incident
    company: Company
    view: IncidentView
    status: Mapping[str, Any]
    now: datetime


class NotificationSender:
    """Attempts the outbox entries of every incident it is shown (see the module)."""

    def __init__(
        self,
        *,
        planner: NotificationPlanner,
        writer: IncidentWriter,
        config: ConfigStore,
        clock: Clock,
        dispatcher: Dispatcher,
        renderer: Renderer,
        limiter: RateLimiter,
        retry: RetryPolicy,
        read_run: RunReader,
        on_outcome: Outcome | None = None,
        in_flight: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self._planner = planner
        self._writer = writer
        self._config = config
        self._clock = clock
        self._dispatcher = dispatcher
        self._renderer = renderer
        self._limiter = limiter
        self._retry = retry
        self._read_run = read_run
        self._on_outcome = on_outcome or (lambda channel, state: None)
        self._slots = asyncio.Semaphore(in_flight)
        self._rng = rng or random.Random()
        self._bodies: dict[Key, dict[str, Any]] = {}
        """The latest body of each incident with pending entries (and only of those)."""
        self._due: dict[Key, datetime] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._busy: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self.attempts = 0

    # -- following the incidents --------------------------------------------------------------

    def observe(self, body: Mapping[str, Any]) -> None:
        """An incident as the watch delivered it: its pending entries, if any, scheduled."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        found = pending(*key, body.get("status") or {})
        if not found:
            self.forget(*key)
            return
        self._bodies[key] = dict(body)
        self._schedule(key, found[0].due_at)

    def forget(self, namespace: str, name: str) -> None:
        """Nothing pending on the incident any more (or it is gone)."""
        self._bodies.pop((namespace, name), None)
        self._due.pop((namespace, name), None)

    def held(self) -> int:
        """Incidents with entries waiting."""
        return len(self._due)

    def _schedule(self, key: Key, at: datetime) -> None:
        if self._due.get(key) == at:
            return
        earlier = not self._heap or at < self._heap[0][0]
        self._due[key] = at
        heapq.heappush(self._heap, (at, *key))
        if earlier and self._wake is not None:
            self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Attempt what is due, on the operator's clock, until cancelled."""
        self._wake = asyncio.Event()
        try:
            while True:
                self._wake.clear()
                now = self._clock.now()
                while self._heap and self._heap[0][0] <= now:
                    at, namespace, name = heapq.heappop(self._heap)
                    key = (namespace, name)
                    if self._due.get(key) != at or key in self._busy:
                        continue  # moved, forgotten, or being attempted (it reschedules)
                    del self._due[key]
                    self._busy.add(key)
                    task = asyncio.get_running_loop().create_task(self._incident(key))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                until = self._heap[0][0] if self._heap else now + timedelta(minutes=1)
                await self._clock.sleep_until(
                    min(until, now + timedelta(minutes=1)), wake=self._wake
                )
        finally:
            for task in list(self._tasks):
                task.cancel()

    async def _incident(self, key: Key) -> None:
        """Attempt the incident's due entries, one write each."""
        try:
            async with self._slots:
                await self._attempt_due(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("incident %s/%s: notifications not attempted", *key)
            self._schedule(key, self._clock.now() + timedelta(seconds=30))
        finally:
            self._busy.discard(key)
        body = self._bodies.get(key)
        if body is not None:  # what the writes left pending (or the watch brought meanwhile)
            self.observe(body)

    async def _attempt_due(self, key: Key) -> None:
        body = self._bodies.get(key)
        if body is None:
            return
        status = self._writer.status(*key) or body.get("status") or {}
        company_name = company_of_namespace(key[0])
        company = self._config.company(company_name) if company_name else None
        now = self._clock.now()
        due = outbox.due(pending(*key, status), now=now)
        if company is None or not due:
            return
        try:
            incident = Incident.model_validate({**body, "status": status})
        except ValidationError as exc:
            log.warning("incident %s/%s cannot be written about: %s", *key, exc)
            return
        technicians = {t.metadata.name: t for t in self._config.technicians()}
        context = _Context(
            incident, company, incident_view(incident, company, technicians), status, now
        )
        found, _ = self._planner.deliveries(company, *key, status)
        by_id = {d.key.id: d for d in found}
        for entry in due:
            delivery = by_id.get(entry.id)
            if delivery is None:
                moved = outbox.cancelled(entry, reason="no longer news when its time came")
            else:
                moved = await self._send(entry, delivery, context)
            self.attempts += 1
            tried = moved.attempts > entry.attempts or moved.state != "pending"
            self._on_outcome(
                self._channel_type(entry.key.channel), moved.state if tried else "postponed"
            )
            await self._writer.submit(*key, self.record(moved, attempts=entry.attempts))
        self._bodies[key] = {**body, "status": self._writer.status(*key) or status}

    def _channel_type(self, name: str) -> str:
        found = next((c for c in self._config.channels() if c.metadata.name == name), None)
        return str(found.spec.type) if found is not None else "unknown"

    async def _send(self, entry: OutboxEntry, delivery: Delivery, context: _Context) -> OutboxEntry:
        try:
            build = await self._builder(entry, context)
            outgoing = compose(
                delivery,
                build=build,
                renderer=self._renderer,
                directory=self._planner.directory(),
                default_zone=self._zone(context.company),
            )
        except Exception as exc:  # a message that cannot be written fails like a refusal
            log.warning("outbox entry %s cannot be written: %s", entry.id, exc)
            return outbox.failed(entry, exc, policy=self._retry, now=context.now, rng=self._rng)
        return await attempt(
            entry,
            outgoing,
            dispatcher=self._dispatcher,
            limiter=self._limiter,
            policy=self._retry,
            now=context.now,
            rng=self._rng,
        )

    @staticmethod
    def record(moved: OutboxEntry, *, attempts: int) -> Change:
        """The write that moves one entry on, if it is still as the attempt found it."""

        def compute(body: Mapping[str, Any]) -> Update | None:
            kept = replaced(body.get("status") or {}, moved, attempts=attempts)
            if kept is None:
                return None
            if moved.state != "failed":
                return Update(fields={"notifications": kept})
            # A message that will never arrive is shown on the incident, once (by entry id).
            key = moved.key
            text = f"{key.kind} to {key.recipient} via {key.channel}: {moved.last_error}"
            entry = {
                "at": rfc3339(moved.due_at),
                "type": "NotificationFailed",
                "actor": f"channel:NotificationChannel/{key.channel}",
                "message": text[:1024],
            }
            event = EventSpec("NotificationFailed", text[:1024], moved.id, type="Warning")
            return Update(fields={"notifications": kept}, timeline=[entry], events=[event])

        return Change(Owner.NOTIFICATIONS, compute=compute)

    # -- the messages ---------------------------------------------------------------------------

    def _zone(self, company: Company) -> str:
        policy = self._config.sla_policies().get(company.spec.sla_policy_ref.name)
        return policy.spec.coverage.time_zone if policy is not None else "UTC"

    async def _builder(self, entry: OutboxEntry, c: _Context) -> Callable[[RecipientView], Message]:
        """How to write the entry's message for a reader."""
        kind, level = entry.key.kind, entry.key.level
        sla = c.status.get("sla") or {}
        view = c.view
        if kind == MessageKind.ASSIGNED:
            runbooks = tuple(runbook_view(rb, view, c.company) for rb in self._suggested(c))
            why = next(
                (
                    str(e.get("message") or "").partition(": ")[2]
                    for e in reversed(c.status.get("timeline") or [])
                    if e.get("type") == "Assigned"
                ),
                "",
            )
            return lambda reader: messages.Assigned(view, reader, runbooks=runbooks, reason=why)
        if kind in (MessageKind.SLA_WARNING, MessageKind.SLA_BREACH):
            clock: SlaClock = "resolution" if level == "resolution" else "response"
            due = _time(sla.get(f"{clock}DueAt"))
            if kind == MessageKind.SLA_WARNING:
                left = max((due - c.now) if due else timedelta(0), timedelta(0))
                return lambda reader: messages.SlaWarning(
                    view, reader, clock=clock, due_at=due, remaining=left
                )
            late = max((c.now - due) if due else timedelta(0), timedelta(0))
            return lambda reader: messages.SlaBreach(
                view, reader, clock=clock, due_at=due, overdue=late
            )
        if kind == MessageKind.ESCALATION:
            number = int(level.split(".")[0] or 1)
            due = _time(sla.get("responseDueAt"))
            late = max((c.now - due) if due else timedelta(0), timedelta(0))
            policy = self._config.sla_policies().get(c.company.spec.sla_policy_ref.name)
            steps = chain(policy.spec, current=number) if policy is not None else ()
            reason = str(sla.get("escalationReason") or "")
            return lambda reader: messages.Escalation(
                view,
                reader,
                escalation_level=number,
                due_at=due,
                overdue=late,
                reason=reason,
                chain=steps,
            )
        if kind == MessageKind.RESOLVED:
            resolved_at = _time(c.status.get("resolvedAt")) or c.now
            spec = c.incident.spec.resolution
            healed = None
            if c.status.get("resolvedBy") == "automation":
                healed = await self._healed_by(c)
            return lambda reader: messages.resolution(
                view,
                reader,
                resolved_at=resolved_at,
                by=spec.by if spec else "",
                code=str(spec.code) if spec else "",
                summary=spec.summary if spec else "",
                healed_by=healed,
            )
        # The run kinds: the run itself tells what it is.
        run, _ = await self._run(c, level)
        if kind == MessageKind.APPROVAL_REQUIRED:
            remediation = c.company.spec.remediation
            who = approval_text(
                run.risk,
                auto_run=remediation.auto_run_low_risk,
                company_admins_medium=remediation.allow_medium_risk_by_company_admin,
            )
            return lambda reader: messages.ApprovalRequired(view, reader, run=run, approvers=who)
        outcome: Literal["failed", "ineffective"] = (
            "ineffective" if kind == MessageKind.RUN_INEFFECTIVE else "failed"
        )
        detail = "; ".join(f"{r.target}: {r.status}" for r in run.results)
        return lambda reader: messages.RunOutcome(
            view, reader, run=run, outcome=outcome, detail=detail
        )

    def _suggested(self, c: _Context) -> list[Runbook]:
        """The runbook that fits the incident's cause (remediation's one rule for it)."""
        cause = c.incident.status.root_cause if c.incident.status else None
        facts = self._config.facts(c.company.metadata.name)
        if cause is None or not cause.asset or facts is None:
            return []
        runbooks = self._config.runbooks_for(c.company.metadata.name)
        choice = choose_runbook(
            runbooks,
            company_namespace=namespace_name(c.company.metadata.name),
            signal=cause.signal,
            severity=c.view.severity,
            asset=facts.assets.get(cause.asset, AssetFacts()),
            auto_run_low_risk=facts.auto_run_low_risk,
        )
        if choice is None:
            return []
        return [
            rb for rb in runbooks if f"{rb.metadata.namespace}/{rb.metadata.name}" == choice.runbook
        ]

    async def _run(self, c: _Context, name: str) -> tuple[Any, Runbook | None]:
        namespace = c.incident.metadata.namespace or ""
        body = await self._read_run(namespace, name)
        if body is None:
            raise LookupError(f"RunbookExecution {namespace}/{name} does not exist")
        run = RunbookExecution.model_validate(body)
        ref = run.spec.runbook_ref
        runbook = next(
            (
                rb
                for rb in self._config.runbooks_for(c.company.metadata.name)
                if rb.metadata.name == ref.name
            ),
            None,
        )
        return run_view(run, runbook), runbook

    async def _healed_by(self, c: _Context) -> Any:
        healed = [r for r in c.status.get("runs") or [] if r.get("outcome") == "SelfHealed"]
        if not healed:
            return None
        try:
            view, _ = await self._run(c, str(healed[-1].get("name") or ""))
        except (LookupError, ValidationError):
            return None
        return view
