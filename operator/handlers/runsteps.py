"""A run's named steps, carried out: admit → approve → credentials → dispatch → poll →
verify → report. Each look reads the run, takes the step its phase is at (several in one
look when nothing waits between them), writes what it decided, and says when to look again.

Exactly once: before anything is sent the run's status records its intent (phase
Dispatching, a token deterministic per run and attempt, when). A run found in Dispatching
(the operator died between intent and send, or between send and record) dispatches again,
and dispatch looks the command up by its token first (SSM ListCommands by Comment; Azure by
the run command's name): it is adopted, never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from whisperer.operator.clock import parse_time, rfc3339
from whisperer.operator.errors import (
    AssumeRoleDeniedError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    PermanentError,
    UnavailableError,
    UndeliverableError,
)
from whisperer.operator.handlers.breaker import Breaker
from whisperer.operator.handlers.clouds import Clouds, Session
from whisperer.operator.handlers.runwrites import PLURAL, RunWrites
from whisperer.operator.kube.client import AccessReview
from whisperer.operator.kube.watch import object_key
from whisperer.operator.models.v1alpha1 import Company, Runbook, RunbookExecution
from whisperer.operator.runtime import Runtime
from whisperer.operator.services import runs as lookup
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.remediation import approval, blast, steps
from whisperer.operator.services.remediation.steps import Admitted, StepFailedError
from whisperer.operator.services.tenancy import company_of_namespace

log = logging.getLogger(__name__)
RETRY = timedelta(seconds=15)
VERIFY_EVERY = timedelta(seconds=2)
Key = tuple[str, str]
Asked = tuple[str, str, tuple[str, ...] | None, str]
"""What an access review asked: of which run (its uid), the approver, the approval's groups,
the risk."""


def _reason_of(exc: PermanentError) -> str:
    """A condition reason for a cloud's permanent refusal."""
    if isinstance(exc, ForbiddenError):
        return "CloudAccessDenied"
    if isinstance(exc, InvalidError):
        return "InvalidRequest"
    if isinstance(exc, NotFoundError):
        return "CommandNotFound"
    return "CloudRefused"


@dataclass
class Stats:
    """What a run costs the product itself (seconds, wall clock), for bench/remediation:
    from the approval decision to SendCommand (or Run Command) returned, less the time spent
    in cloud calls; from the poll that saw the end to the incident's write stored; and
    polls per command."""

    to_send: list[float] = field(default_factory=list)
    cloud: list[float] = field(default_factory=list)
    to_report: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)


class RunSteps:
    """One look at one run: the step it is at, carried out (decisions from
    `services/remediation/`, cloud calls through `clouds`, writes through `runwrites`)."""

    def __init__(
        self,
        runtime: Runtime,
        clouds: Clouds,
        *,
        schedule: Callable[[Key, datetime], None],
        breaker: Breaker,
        crash_at: str | None = None,
        per_company: int = 5,
    ) -> None:
        self._rt = runtime
        self._clouds = clouds
        self._breaker = breaker
        self._schedule = schedule
        self._crash_at = crash_at
        self._sessions: dict[Key, Session] = {}
        self._holding: dict[Key, blast.Holding] = {}
        self._per_company = per_company
        self._blocked: set[Key] = set()
        self._approved_at: dict[Key, float] = {}
        self._cloud: dict[Key, float] = {}
        self._reviews: dict[Key, tuple[Asked, AccessReview]] = {}
        self.stats = Stats()
        self._writes = RunWrites(runtime, on_stored=self.track, runbook_of=self._runbook)
        self._write = self._writes.write
        self._post = self._writes.post
        self._report = self._writes.report

    async def reconcile(self, key: Key) -> datetime | None:
        namespace, name = key
        try:
            body = await self._rt.akube.get(PLURAL, name, namespace)
        except NotFoundError:
            self._sessions.pop(key, None)
            self._reviews.pop(key, None)
            return None
        self.track(body)
        run = RunbookExecution.from_body(body)
        status = body.get("status") or {}
        phase = str(status.get("phase") or "Pending")
        now = self._rt.clock.now()
        company_name = company_of_namespace(namespace) or ""
        company = self._rt.config.company(company_name)
        if phase in steps.TERMINAL:
            self._sessions.pop(key, None)
            await self._report(body, run, status, status.get("reason") or phase)
            return None
        found = self._runbook(run)
        risk = {"risk": str(found.spec.risk)} if found is not None else {}
        try:
            admitted = steps.admit(run, runbook=found, company=company)
            assert company is not None
            if phase in ("Pending", "AwaitingApproval", "Approved"):
                decision = await self._approve(key, run, body, admitted, company, now)
                if decision.approved:
                    self._approved_at.setdefault(key, time.perf_counter())
                if not decision.approved:
                    return await self._decided(body, run, status, admitted, decision)
                if phase != "Approved":
                    # Recorded with the next write (the intent, or why it waits or failed).
                    approved = {
                        "phase": "Approved",
                        "risk": admitted.risk,
                        "reason": decision.reason,
                    }
                    risk = {**risk, **approved}
                    self._post(
                        body,
                        "RunApproved",
                        f"{decision.message} (actor: {decision.actor})",
                        "phase/Approved",
                    )
                phase = "Approved"
            if phase == "Approved":
                await self._session(key, admitted, company)
                blast.check(
                    key,
                    targets=frozenset(run.spec.targets),
                    holding=self._holding,
                    per_company=self._per_company,
                )
                # Reserved before the first await: two runs looked at together cannot both pass.
                self._holding[key] = blast.Holding(namespace, frozenset(run.spec.targets))
                self._blocked.discard(key)
                intent = {
                    "token": steps.intent_token(namespace, name, 1),
                    "attempt": 1,
                    "recordedAt": rfc3339(self._rt.clock.now()),
                }
                try:
                    status = await self._write(
                        body,
                        {
                            **risk,
                            "phase": "Dispatching",
                            "reason": "Dispatching",
                            "intent": intent,
                            "provider": admitted.provider,
                        },
                        ready=(True, "Dispatching", "intent recorded; sending"),
                    )
                except BaseException:
                    self._holding.pop(key, None)  # not recorded: the reservation goes
                    raise
                self._crash("intent-recorded")
                phase = "Dispatching"
            if phase == "Dispatching":
                return await self._dispatch(key, body, status, admitted, company)
            if phase == "Running":
                return await self._poll(key, body, run, status, admitted, company)
            if phase == "Verifying":
                return await self._verify(body, run, status)
        except StepFailedError as failed:
            return await self._failed(body, run, status, failed, extra=risk)
        except AssumeRoleDeniedError as exc:
            return await self._failed(
                body,
                run,
                status,
                StepFailedError("credentials", "AssumeRoleDenied", f"{exc} ({exc.role_arn})"),
            )
        except UndeliverableError as exc:
            return await self._failed(
                body, run, status, StepFailedError("dispatch", "Undeliverable", str(exc))
            )
        except PermanentError as exc:
            step = (
                "dispatch"
                if phase == "Dispatching"
                else "poll"
                if phase == "Running"
                else "credentials"
            )
            return await self._failed(
                body,
                run,
                status,
                StepFailedError(step, _reason_of(exc), str(exc)),
                extra=risk,
            )
        return None

    def _runbook(self, run: RunbookExecution) -> Runbook | None:
        return next(
            (
                rb
                for ns, rb_name in lookup.runbook_candidates(run)
                if (rb := self._rt.config.runbook(ns, rb_name))
            ),
            None,
        )

    async def _approve(
        self,
        key: Key,
        run: RunbookExecution,
        body: dict[str, Any],
        admitted: Admitted,
        company: Company,
        now: datetime,
    ) -> approval.Decision:
        """The approvals table, and for an approval it accepts, RBAC asked about the
        approver (once per approval: the verdict is kept for later looks)."""
        settings = company.spec.remediation
        created = parse_time((body.get("metadata") or {}).get("creationTimestamp")) or now

        def decide(review: AccessReview | None) -> approval.Decision:
            return approval.decide(
                run,
                risk=admitted.risk,
                company=company.metadata.name,
                auto_run_low_risk=settings.auto_run_low_risk,
                medium_by_company_admin=settings.allow_medium_risk_by_company_admin,
                approval_timeout=parse_duration(settings.approval_timeout),
                company_admins=company.spec.admins,
                technicians={t.spec.username for t in self._rt.config.technicians()},
                created_at=created,
                now=now,
                authorized=None if review is None else review.allowed,
                denial="" if review is None else review.reason,
                paused=self._breaker.paused(company.metadata.name),
            )

        decision = decide(None)
        if decision.unverified:
            uid = str((body.get("metadata") or {}).get("uid") or "")
            decision = decide(await self._review(key, uid, run, admitted.risk))
        return decision

    async def _review(self, key: Key, uid: str, run: RunbookExecution, risk: str) -> AccessReview:
        """May the approver, in the groups recorded with the approval (admission checked
        them against the approving request), `approve` this risk in the run's namespace?
        A SubjectAccessReview, asked outside any lock; an error asking is temporary (the
        run is looked at again), never a refusal."""
        given = run.spec.approval
        assert given is not None
        groups = None if given.groups is None else tuple(given.groups)
        asked: Asked = (uid, given.by, groups, risk)
        kept = self._reviews.get(key)
        if kept is not None and kept[0] == asked:
            return kept[1]
        try:
            review = await self._rt.akube.may(
                given.by,
                None if groups is None else list(groups),
                "approve",
                "risklevels",
                namespace=key[0],
                name=risk,
            )
        except PermanentError as exc:
            raise UnavailableError(
                f"asking RBAC whether {given.by} may approve a {risk}-risk run: {exc}",
                delay=RETRY.total_seconds(),
            ) from exc
        self._reviews[key] = (asked, review)
        return review

    async def _decided(
        self,
        body: dict[str, Any],
        run: RunbookExecution,
        status: dict[str, Any],
        admitted: Admitted,
        decision: approval.Decision,
    ) -> datetime | None:
        fields: dict[str, Any] = {
            "phase": decision.phase,
            "risk": admitted.risk,
            "reason": decision.reason,
        }
        waiting = decision.phase == "AwaitingApproval"
        if not waiting:
            fields["outcome"] = decision.phase
            fields["finishedAt"] = rfc3339(self._rt.clock.now())
        if status.get("phase") != decision.phase:
            status = await self._write(
                body,
                fields,
                ready=(waiting, decision.reason, decision.message),
                event=(
                    f"Run{decision.phase}",
                    f"{decision.message} (actor: {decision.actor})",
                    f"phase/{decision.phase}",
                ),
                warning=not waiting,
            )
        await self._report(body, run, status, decision.message)
        return decision.expires_at

    async def _session(self, key: Key, admitted: Admitted, company: Company) -> Session:
        session = self._sessions.get(key)
        if session is None:
            started = time.perf_counter()
            session = await asyncio.to_thread(
                self._clouds.credentials, admitted, company, namespace=key[0], run=key[1]
            )
            self._cloud[key] = self._cloud.get(key, 0.0) + time.perf_counter() - started
            self._sessions[key] = session
        return session

    async def _dispatch(
        self,
        key: Key,
        body: dict[str, Any],
        status: dict[str, Any],
        admitted: Admitted,
        company: Company,
    ) -> datetime | None:
        intent = status.get("intent") or {}
        session = await self._session(key, admitted, company)
        started = time.perf_counter()
        command_id = await asyncio.to_thread(
            self._clouds.dispatch,
            session,
            admitted,
            token=str(intent["token"]),
            namespace=key[0],
            run=key[1],
            attempt=int(intent["attempt"]),
            recorded_at=parse_time(intent.get("recordedAt")),
        )
        self._crash("sent")
        returned = time.perf_counter()
        approved = self._approved_at.pop(key, None)
        cloud = self._cloud.pop(key, 0.0) + returned - started
        if approved is not None:
            self.stats.to_send.append(returned - approved - cloud)
            self.stats.cloud.append(cloud)
        now = self._rt.clock.now()
        results = [{"target": t.asset, "status": "Pending"} for t in admitted.targets]
        status = await self._write(
            body,
            {
                "phase": "Running",
                "commandId": command_id,
                "startedAt": status.get("startedAt") or rfc3339(now),
                "results": results,
                "nextPollAt": rfc3339(steps.next_poll(0, now=now)),
            },
            ready=(True, "Running", f"command {command_id} sent to {len(results)} target(s)"),
            event=(
                "RunStarted",
                f"command {command_id} on {', '.join(t.asset for t in admitted.targets)}",
                f"sent/{intent['attempt']}",
            ),
        )
        await self._report(
            body, RunbookExecution.from_body(body), status, f"command {command_id} sent"
        )
        return steps.next_poll(0, now=now)

    async def _poll(
        self,
        key: Key,
        body: dict[str, Any],
        run: RunbookExecution,
        status: dict[str, Any],
        admitted: Admitted,
        company: Company,
    ) -> datetime | None:
        now = self._rt.clock.now()
        due = parse_time(status.get("nextPollAt"))
        if due is not None and now < due:
            return due
        session = await self._session(key, admitted, company)
        states = await asyncio.to_thread(
            self._clouds.poll, session, admitted, command_id=str(status.get("commandId") or "")
        )
        seen = time.perf_counter()
        intent = status.get("intent") or {}
        attempt = int(intent.get("attempt") or 1)
        verdict = steps.judge(states, attempt=attempt)
        polls = int(status.get("polls") or 0) + 1
        results = [
            {
                k: v
                for k, v in {
                    "target": s.target,
                    "status": s.status,
                    "exitCode": s.exit_code,
                    "output": s.output,
                }.items()
                if v is not None
            }
            for s in states
        ]
        now = self._rt.clock.now()
        if not verdict.done:
            at = steps.next_poll(polls, now=now)
            await self._write(body, {"results": results, "polls": polls, "nextPollAt": rfc3339(at)})
            return at
        if verdict.retry:
            intent = {
                "token": steps.intent_token(key[0], key[1], attempt + 1),
                "attempt": attempt + 1,
                "recordedAt": rfc3339(now),
            }
            await self._write(
                body,
                {
                    "phase": "Dispatching",
                    "intent": intent,
                    "results": results,
                    "polls": polls,
                    "commandId": None,
                },
                ready=(True, verdict.reason, verdict.message),
                event=("RunRetried", verdict.message, f"retry/{attempt + 1}"),
            )
            self._crash("intent-recorded")
            return now
        if verdict.phase == "Verifying":
            fields: dict[str, Any] = {
                "results": results,
                "polls": polls,
                "finishedAt": rfc3339(now),
            }
            if run.spec.incident_ref is None:
                fields |= {"phase": "Succeeded", "reason": "Succeeded"}
            else:
                until = now + admitted.verify_window
                fields |= {
                    "phase": "Verifying",
                    "reason": "Verifying",
                    "verifyUntil": rfc3339(until),
                }
            # The run's status and the incident's summary, written at once.
            await asyncio.gather(
                self._write(
                    body,
                    fields,
                    ready=(True, str(fields["reason"]), verdict.message),
                    event=("RunSucceeded", verdict.message, "succeeded"),
                ),
                self._report(body, run, {**status, **fields}, verdict.message),
            )
            self._ended(seen, polls)
            return now
        outcome = "Cancelled" if verdict.phase == "Cancelled" else "Failed"
        ended = {
            "phase": verdict.phase,
            "reason": verdict.reason,
            "outcome": outcome,
            "results": results,
            "polls": polls,
            "finishedAt": rfc3339(now),
        }
        await asyncio.gather(
            self._write(
                body,
                ended,
                ready=(False, verdict.reason, verdict.message),
                event=(f"Run{verdict.reason}", verdict.message, f"end/{verdict.reason}"),
                warning=True,
            ),
            self._report(body, run, {**status, **ended}, verdict.message),
        )
        self._ended(seen, polls)
        return None

    async def _verify(
        self, body: dict[str, Any], run: RunbookExecution, status: dict[str, Any]
    ) -> datetime | None:
        now = self._rt.clock.now()
        until = parse_time(status.get("verifyUntil")) or now
        incident = None
        if run.spec.incident_ref is not None:
            try:
                incident = await self._rt.akube.get(
                    "incidents", run.spec.incident_ref.name, run.metadata.namespace
                )
            except NotFoundError:
                incident = None
        verdict = steps.verify(incident, until=until, now=now)
        if verdict is None:
            return min(now + VERIFY_EVERY, until)
        outcome, message = verdict
        status = await self._write(
            body,
            {"phase": "Succeeded", "reason": outcome, "outcome": outcome},
            ready=(True, outcome, message),
            event=(f"Run{outcome}", message, f"verify/{outcome}"),
            warning=outcome != "SelfHealed",
        )
        await self._report(body, run, status, message)
        return None

    async def _failed(
        self,
        body: dict[str, Any],
        run: RunbookExecution,
        status: dict[str, Any],
        failed: StepFailedError,
        *,
        extra: dict[str, Any] | None = None,
    ) -> datetime | None:
        if failed.waiting:
            if failed.reason in ("TargetBusy", "CompanyBusy"):
                self._blocked.add(object_key(body))
            await self._write(
                body,
                {**(extra or {}), "reason": failed.reason},
                ready=(False, failed.reason, failed.message),
            )
            return self._rt.clock.now() + RETRY
        fields = {
            **(extra or {}),
            "phase": failed.phase,
            "reason": failed.reason,
            "finishedAt": rfc3339(self._rt.clock.now()),
        }
        fields["outcome"] = "Failed" if failed.phase == "Failed" else failed.phase
        status = await self._write(
            body,
            fields,
            ready=(False, failed.reason, f"{failed.step}: {failed.message}"),
            event=(failed.reason, f"{failed.step}: {failed.message}", f"fail/{failed.step}"),
            warning=True,
        )
        await self._report(body, run, status, f"{failed.step}: {failed.message}")
        return None

    def _ended(self, seen: float, polls: int) -> None:
        """Record the product's time from seeing a command's end to the incident updated."""
        self.stats.to_report.append(time.perf_counter() - seen)
        self.stats.polls.append(polls)

    def track(self, body: dict[str, Any]) -> None:
        """Keep the runs that hold their targets; when one lets go, look at the runs that
        waited for it."""
        key = object_key(body)
        phase = (body.get("status") or {}).get("phase")
        self._breaker.observe(body)
        if phase in steps.TERMINAL or phase in blast.ACTIVE:
            self._reviews.pop(key, None)  # past its approval: no more looks at the approver
        if phase in blast.ACTIVE:
            targets = frozenset((body.get("spec") or {}).get("targets") or [])
            self._holding[key] = blast.Holding(key[0], targets)
            return
        if phase in steps.TERMINAL:
            self._approved_at.pop(key, None)
            self._cloud.pop(key, None)
        if self._holding.pop(key, None) is not None:
            now = self._rt.clock.now()
            for waiting in [k for k in self._blocked if k[0] == key[0]]:
                self._blocked.discard(waiting)
                self._schedule(waiting, now)

    def _crash(self, point: str) -> None:
        """The kill test's hook: exit here, at once, when the settings say so."""
        if self._crash_at == point:
            log.warning("WHISPERER_TEST_CRASH_AT=%s: exiting now", point)
            logging.shutdown()
            os._exit(137)


__all__ = ["RunSteps", "Stats"]
