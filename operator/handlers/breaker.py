"""The automatic runs' circuit breaker, carried out: it sees every run the remediator looks
at (failed automatic runs count) and every Company change (the resume annotation), decides
with `services/remediation/breaker.py`, and is the only writer of
`Company.status.autoRemediation` and the Company's `AutoRemediationPaused` condition (the
company reconciler writes Ready and Suspended and keeps the others).

Once per change, across restarts: the Event comes first, named after what tripped it (the
failed runs) or the resume request, so a repeat after a kill is refused as a duplicate; the
status write follows, as a compare-and-swap, and is what the next start reads back."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from whisperer.operator.errors import ConflictError, NotFoundError, WhispererError
from whisperer.operator.kube.events import event_body
from whisperer.operator.kube.watch import object_key
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.runtime import Runtime
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.remediation import breaker
from whisperer.operator.services.tenancy import RESUME_ANNOTATION, company_of_namespace

log = logging.getLogger(__name__)
CONDITION = "AutoRemediationPaused"
RETRY = timedelta(seconds=5)
KEEP = timedelta(days=1)
"""Failures older than this are forgotten whatever the window (the window's maximum sense)."""


def settings_of(company: Company) -> breaker.Settings:
    """The company's breaker settings."""
    cb = company.spec.remediation.circuit_breaker
    return breaker.Settings(
        enabled=cb.enabled, threshold=cb.failure_threshold, window=parse_duration(cb.window)
    )


def state_of(company: Company) -> breaker.State:
    """What the company's status says of the breaker."""
    recorded = company.status.auto_remediation if company.status else None
    if recorded is None:
        return breaker.State()
    return breaker.State(
        paused=recorded.paused,
        paused_at=recorded.paused_at,
        message=recorded.message,
        failed_runs=tuple(recorded.failed_runs),
        resumed=recorded.resumed,
        resumed_at=recorded.resumed_at,
    )


def _condition(company: Company) -> str | None:
    for c in (company.status.conditions if company.status else None) or []:
        if c.type == CONDITION:
            return str(c.status)
    return None


class Breaker:
    """Failed automatic runs by company, the state written, and the writes."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._failures: dict[str, dict[str, datetime]] = {}
        self._state: dict[str, breaker.State] = {}
        self._dirty: set[str] = set()
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        runtime.config.listeners.append(self._config_changed)

    # -- what it sees ------------------------------------------------------------------------

    def observe(self, body: dict[str, Any]) -> None:
        """A run as the remediator saw or stored it: a failed automatic run counts."""
        namespace, name = object_key(body)
        company = company_of_namespace(namespace)
        at = breaker.failed_at(body, seen=self._rt.clock.now())
        if company is None or at is None:
            return
        runs = self._failures.setdefault(company, {})
        if name in runs:
            return
        runs[name] = at
        oldest = self._rt.clock.now() - KEEP
        for old in [n for n, t in runs.items() if t < oldest]:
            del runs[old]
        self._mark(company)

    def _config_changed(self, plural: str, key: tuple[str, str]) -> None:
        if plural == "companies":
            self._mark(key[1])

    def paused(self, company: str) -> bool:
        """Whether automatic runs of `company` are paused now."""
        state = self._state.get(company)
        if state is None:
            found = self._rt.config.company(company)
            state = state_of(found) if found is not None else breaker.State()
        return state.paused

    # -- deciding and writing ----------------------------------------------------------------

    def _mark(self, company: str) -> None:
        self._dirty.add(company)
        if company in self._busy:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not running yet: the remediator's first list marks every company
        self._busy.add(company)
        task = loop.create_task(self._settle(company))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, company: str) -> None:
        try:
            while company in self._dirty:
                self._dirty.discard(company)
                try:
                    await self._look(company)
                except ConflictError:
                    self._dirty.add(company)  # changed under us: read it again
                except WhispererError as exc:
                    log.warning("company %s: circuit breaker not written: %s", company, exc)
                    clock = self._rt.clock
                    await clock.sleep_until(clock.now() + RETRY)
                    self._dirty.add(company)
        finally:
            self._busy.discard(company)

    async def _look(self, company: str) -> None:
        model = self._rt.config.company(company)
        if model is None:
            self._state.pop(company, None)
            return
        recorded = state_of(model)
        current = self._state.get(company, recorded)
        resume = (model.metadata.annotations or {}).get(RESUME_ANNOTATION)
        verdict = breaker.decide(
            settings_of(model),
            current,
            self._failures.get(company, {}),
            resume=resume,
            now=self._rt.clock.now(),
        )
        state = verdict.state
        condition = _condition(model)
        in_step = state == recorded and (
            condition == ("True" if state.paused else "False")
            or (condition is None and not state.paused)
        )
        if in_step:
            self._state[company] = state
            return
        try:
            body = await self._rt.akube.get("companies", company)
        except NotFoundError:
            return
        if verdict.change is not None:
            await self._event(body, verdict)
        conditions = set_condition(
            list((body.get("status") or {}).get("conditions") or []),
            type=CONDITION,
            status="True" if state.paused else "False",
            reason="AutoRunsFailing" if state.paused else "AutoRunsAllowed",
            message=state.message
            if state.paused
            else (
                f"resumed by request {state.resumed!r}"
                if state.resumed
                else "automatic runs start when their policy allows"
            ),
            generation=(body.get("metadata") or {}).get("generation"),
            now=self._rt.clock.now(),
        )
        await self._rt.akube.patch_status(
            "companies",
            company,
            {
                "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
                "status": {"autoRemediation": state.to_status(), "conditions": conditions},
            },
        )
        self._state[company] = state
        if verdict.change == "paused":
            log.warning("company %s: automatic runs paused: %s", company, state.message)
        elif verdict.change == "resumed":
            log.info("company %s: automatic runs resumed (request %s)", company, state.resumed)

    async def _event(self, body: dict[str, Any], verdict: breaker.Verdict) -> None:
        state = verdict.state
        if verdict.change == "paused":
            digest = hashlib.sha256(",".join(state.failed_runs).encode()).hexdigest()[:12]
            key, reason, kind = f"{CONDITION}/{digest}", CONDITION, "Warning"
            message = (
                f"{state.message} (resume: kubectl annotate company "
                f"{body['metadata']['name']} {RESUME_ANNOTATION}=<any new value>)"
            )
        else:
            reason, kind = "AutoRemediationResumed", "Normal"
            key = f"{reason}/{state.resumed}"
            message = f"automatic runs resumed by request {state.resumed!r}"
        ev = event_body(
            body, reason=reason, message=message, key=key, now=self._rt.clock.now(), type=kind
        )
        with contextlib.suppress(ConflictError):  # posted before a restart: it is the record
            await self._rt.akube.create("events", ev, ev["metadata"]["namespace"])

    def start(self) -> None:
        """Look at every company once (the remediator calls it after its first list)."""
        for name in sorted(self._rt.config.company_names()):
            self._mark(name)


__all__ = ["CONDITION", "Breaker", "settings_of", "state_of"]
