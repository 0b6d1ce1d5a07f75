"""The one SLA scheduler of an operator: every open incident's next due time in one heap,
rebuilt from the incidents the operator watches and moved by every change of one; no
timer per incident. At a due time it asks the incident writer to work the clocks out at
write time (`clocks.evaluate` through `Change.compute`), so each warning, breach and
escalation level is recorded once, with the messages it calls for in the same write (the
outbox follows every write: `IncidentWriter.followers`).

A tick where nothing is due writes nothing; an incident whose clocks show what they should
is not written either."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from whisperer.operator.clock import Clock
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.incident_writer import (
    Change,
    EventSpec,
    IncidentWriter,
    Owner,
    Update,
)
from whisperer.operator.services.sla.clocks import Evaluation, entry_of, evaluate
from whisperer.operator.services.tenancy import company_of_namespace

log = logging.getLogger(__name__)

Key = tuple[str, str]  # namespace, name
_IGNORED = frozenset({"nextDueAt"})  # composed by the writer


def _same(recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether the stored clocks already say what they should (the API server fills the
    schema's defaults, the writer composes nextDueAt)."""
    keys = (set(recorded) | set(wanted)) - _IGNORED
    defaults = {"responseBreached": False, "resolutionBreached": False, "pausedMinutes": 0}
    defaults |= {"escalationRepeats": 0, "episode": 0}
    return all(recorded.get(k, defaults.get(k)) == wanted.get(k, defaults.get(k)) for k in keys)


class SlaService:
    """SLA clocks for every open incident (see the module)."""

    def __init__(
        self,
        *,
        config: ConfigStore,
        clock: Clock,
        writer: IncidentWriter,
    ) -> None:
        self._config = config
        self._clock = clock
        self._writer = writer
        self._due: dict[Key, datetime] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._wake: asyncio.Event | None = None
        self.last_evaluated: datetime | None = None
        self.steps = 0
        self.lateness: list[float] = []
        """Seconds between a step's due time and its recording (the latest 10,000)."""

    # -- the rule, as the writer runs it ------------------------------------------------------

    def evaluation(
        self, company: str, spec: Mapping[str, Any], status: Mapping[str, Any]
    ) -> Evaluation | None:
        """The incident's clocks now (None: no policy, no target, not opened)."""
        facts = self._config.facts(company)
        if facts is None:
            return None
        policy = self._config.sla_policies().get(facts.sla_policy)
        if policy is None:
            return None
        technicians = {t.spec.username for t in self._config.technicians()}
        return evaluate(
            spec,
            status,
            policy_name=facts.sla_policy,
            policy=policy.spec,
            technicians=technicians,
            now=self._clock.now(),
        )

    def change(self, company: str, key: Key | None = None) -> Change:
        """The SLA's part of a write: worked out at write time from the incident as it is
        (and, given the incident's key, its next look scheduled from that)."""

        def compute(body: Mapping[str, Any]) -> Update | None:
            status = body.get("status") or {}
            found = self.evaluation(company, body.get("spec") or {}, status)
            if found is None:
                return None
            if key is not None:
                self._schedule(key, found.next_at)
            now = self._clock.now()
            unchanged = _same(status.get("sla") or {}, found.sla) and found.escalation_level == int(
                status.get("escalationLevel") or 0
            )
            if unchanged and not found.steps:
                return None
            policy = str(found.sla.get("policy", ""))
            entries = [entry_of(s, policy_name=policy, now=now) for s in found.steps]
            events = [
                EventSpec(
                    e["type"],
                    e["message"],
                    f"{e['type']}/{found.sla.get('episode', 0)}/{e['message']}",
                )
                for e in entries
                if e["type"] in ("SLABreached", "Escalated")
            ]
            for step in found.steps:
                due = step.due_at or now
                self._late((now - due).total_seconds())
            self.steps += len(found.steps)
            return Update(
                fields={"sla": found.sla, "escalationLevel": found.escalation_level},
                timeline=entries,
                events=events,
            )

        return Change(Owner.SLA, compute=compute)

    def _late(self, seconds: float) -> None:
        self.lateness.append(max(seconds, 0.0))
        del self.lateness[:-10_000]

    # -- following the incidents --------------------------------------------------------------

    def observe(self, body: Mapping[str, Any]) -> None:
        """An incident as the watch delivered it: write its clocks if they are stale (a
        technician responded, the customer waits, the severity rose), and know when to
        look at it next."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        company = company_of_namespace(key[0])
        status = body.get("status") or {}
        if company is None or not status.get("openedAt"):
            return
        found = self.evaluation(company, body.get("spec") or {}, status)
        if found is None:
            self.forget(*key)
            return
        stale = not _same(status.get("sla") or {}, found.sla) or found.escalation_level != int(
            status.get("escalationLevel") or 0
        )
        if stale or found.steps:
            self._submit(key, company)
        self._schedule(key, found.next_at)

    def forget(self, namespace: str, name: str) -> None:
        """The incident went away (its heap entry is dropped when it comes up)."""
        self._due.pop((namespace, name), None)

    def _schedule(self, key: Key, at: datetime | None) -> None:
        if at is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == at:
            return
        earlier = not self._heap or at < self._heap[0][0]
        self._due[key] = at
        heapq.heappush(self._heap, (at, *key))
        if earlier and self._wake is not None:
            self._wake.set()

    def follower(self, namespace: str, name: str) -> Change | None:
        """The SLA's part of every write to an incident (`IncidentWriter.followers`)."""
        company = company_of_namespace(namespace)
        return self.change(company, (namespace, name)) if company is not None else None

    def _submit(self, key: Key, company: str) -> None:
        """A write of the clocks (the outbox follows in the same write)."""
        done = self._writer.submit(*key, self.change(company, key))
        done.add_done_callback(_logged(key))

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Take what is due, on the operator's clock, until cancelled."""
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            now = self._clock.now()
            self.last_evaluated = now
            while self._heap and self._heap[0][0] <= now:
                at, namespace, name = heapq.heappop(self._heap)
                key = (namespace, name)
                if self._due.get(key) != at:
                    continue  # moved or forgotten since
                del self._due[key]
                company = company_of_namespace(namespace)
                if company is not None:
                    self._submit(key, company)
            until = self._heap[0][0] if self._heap else now + timedelta(minutes=1)
            await self._clock.sleep_until(min(until, now + timedelta(minutes=1)), wake=self._wake)

    def held(self) -> int:
        """Incidents waiting for a due time."""
        return len(self._due)


def _logged(key: Key) -> Callable[[asyncio.Future[None]], None]:
    def check(done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning("incident %s/%s: SLA clocks not stored: %s", *key, done.exception())

    return check
