"""The one writer of Incident status. Every part of the operator that changes an incident
(correlation, lifecycle, assignment, analysis, SLA, remediation, notifications) hands it a
`Change`; it owns the order, the merge and the retries.

- Each status field has one owner (`FIELDS`); a change may only set its owner's fields.
  `severity`, `score`, `priority` and `rootCause` are composed at every write from the
  rules' conclusions and the AI's verdict; `sla.nextDueAt` from the deadlines and the phase.
- Timeline entries are appended by key (type, actor, time): a repeated entry is dropped,
  the list is bounded (the oldest go first, `Opened` stays), nothing replaces it.
- Changes to one incident that arrive within a short window (longer for an incident that
  keeps changing, a storm) become one write; each caller's future settles once its change
  is stored. Writes to one incident are made one at a time, in the order submitted.
- Every write is a compare-and-swap on the resourceVersion the writer last saw: a conflict
  (someone else wrote, say a technician's spec change) reads the incident again and applies
  the same changes to it; nothing is lost. Temporary failures retry with backoff.
- A change may carry the incident's body to create it first, and Events to post once after
  it is stored (their names derive from the incident and a key, so a rerun posts nothing).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from whisperer.operator.clock import Clock, rfc3339
from whisperer.operator.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    TemporaryError,
    WhispererError,
)
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.kube.events import event_body
from whisperer.operator.services.analysis import COMPOSED, compose

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 100
Entry = dict[str, Any]
Key = tuple[str, str]  # namespace, name


class Owner(StrEnum):
    """The parts of the operator that write incident status."""

    CORRELATION = "correlation"
    LIFECYCLE = "lifecycle"
    ASSIGNMENT = "assignment"
    ANALYSIS = "analysis"
    SLA = "sla"
    REMEDIATION = "remediation"
    NOTIFICATIONS = "notifications"


FIELDS: dict[str, Owner] = {
    "company": Owner.CORRELATION,
    "pattern": Owner.CORRELATION,
    "aggregationKey": Owner.CORRELATION,
    "rules": Owner.CORRELATION,
    "alerts": Owner.CORRELATION,
    "openedAt": Owner.CORRELATION,
    "reopened": Owner.CORRELATION,
    "mergedInto": Owner.CORRELATION,
    "correlation": Owner.CORRELATION,
    "phase": Owner.LIFECYCLE,
    "resolvedAt": Owner.LIFECYCLE,
    "resolvedBy": Owner.LIFECYCLE,
    "observedGeneration": Owner.LIFECYCLE,
    "assignee": Owner.ASSIGNMENT,
    "assignedAt": Owner.ASSIGNMENT,
    "analysis": Owner.ANALYSIS,
    "sla": Owner.SLA,
    "escalationLevel": Owner.SLA,
    "runs": Owner.REMEDIATION,
    "notifications": Owner.NOTIFICATIONS,
}
"""Who writes which field of Incident status (docs/architecture.md has the table)."""


@dataclass(frozen=True)
class EventSpec:
    """A Kubernetes Event to post about the incident once its change is stored."""

    reason: str
    message: str
    key: str
    type: str = "Normal"


@dataclass
class Change:
    """What one owner changes on one incident."""

    owner: Owner
    fields: dict[str, Any] = field(default_factory=dict)
    """Status fields (camelCase, top level) and their new values; None removes one."""
    timeline: list[Entry] = field(default_factory=list)
    """Entries to append: {at, type, actor, message}."""
    events: list[EventSpec] = field(default_factory=list)
    create: dict[str, Any] | None = None
    """The incident's body, to create it when it does not exist yet."""
    when: Callable[[Mapping[str, Any]], bool] | None = None
    """Apply only if this holds of the status at write time (e.g. the input an answer was
    about is still the incident's); otherwise the change is dropped, its future settles."""
    compute: Callable[[Mapping[str, Any]], Update | None] | None = None
    """Work the change out at write time from the incident as it is then (`{"spec", "status"}`,
    after the changes before it in the write): for owners whose fields follow from the whole
    incident (SLA clocks, the outbox), so a write made from an older view cannot undo a newer
    one. None: nothing to change."""

    def __post_init__(self) -> None:
        _check_owner(self.owner, self.fields)


@dataclass(frozen=True)
class Update:
    """What a `Change.compute` works out: fields of the change's owner, entries, Events."""

    fields: dict[str, Any] = field(default_factory=dict)
    timeline: list[Entry] = field(default_factory=list)
    events: list[EventSpec] = field(default_factory=list)


def _check_owner(owner: Owner, fields: Mapping[str, Any]) -> None:
    wrong = sorted(k for k in fields if FIELDS.get(k) != owner)
    if wrong:
        raise PermanentError(
            f"{owner} may not write {', '.join(wrong)} of an incident's status "
            "(each field has one owner: services/incident_writer.FIELDS)"
        )


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    """What makes a timeline entry the same entry."""
    return (str(entry["type"]), str(entry["actor"]), str(entry["at"]))


def append_entries(
    timeline: Iterable[Entry], additions: Iterable[Entry], *, limit: int = TIMELINE_LIMIT
) -> tuple[list[Entry], list[Entry]]:
    """The timeline with the additions it lacks, in time order, bounded: the oldest go
    first, the `Opened` entry stays. Returns it and the additions that are new (and kept)."""
    current = list(timeline)
    seen = {entry_key(e) for e in current}
    new: list[Entry] = []
    for entry in additions:
        key = entry_key(entry)
        if key not in seen:
            seen.add(key)
            new.append(dict(entry))
    merged = sorted([*current, *new], key=lambda e: str(e["at"]))
    if len(merged) > limit:
        opened = next((e for e in merged if e["type"] == "Opened"), None)
        rest = [e for e in merged if e is not opened]
        merged = ([opened] if opened else []) + rest[-(limit - (1 if opened else 0)) :]
    kept = {entry_key(e) for e in merged}
    return merged, [e for e in new if entry_key(e) in kept]


def next_due(sla: Mapping[str, Any] | None, phase: str) -> str | None:
    """The deadline that still matters: response until acknowledged, then resolution; none
    once resolved, and none while the incident waits on the customer."""
    if not sla or phase == "Resolved" or sla.get("pausedSince"):
        return None  # nothing left, or the clock stands still while the customer is waited on
    if phase == "Acknowledged" or sla.get("respondedAt"):
        return sla.get("resolutionDueAt")
    return sla.get("responseDueAt")


def composed(status: dict[str, Any]) -> dict[str, Any]:
    """`status` with its composed fields computed from what their inputs say now."""
    out = dict(status)
    if out.get("rules"):
        for key, value in compose(out).items():
            out[key] = value
    if out.get("sla"):
        out["sla"] = {**out["sla"], "nextDueAt": next_due(out["sla"], out.get("phase") or "Open")}
    return out


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns `old` into `new` (lists are replaced)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if key in old and before == value:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            inner = merge_patch(before, value)
            if inner:
                patch[key] = inner
        else:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def apply_changes(
    status: Mapping[str, Any], changes: Iterable[Change], *, spec: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[Entry], list[list[EventSpec]]]:
    """The status after the changes (in order), the new timeline entries, and for each
    change the Events it asks for (none when its `when` did not hold)."""
    out = copy.deepcopy(dict(status))
    events: list[list[EventSpec]] = []
    new_entries: list[Entry] = []
    for change in changes:
        if change.when is not None and not change.when(composed(out)):
            events.append([])
            continue
        fields, timeline, asked = change.fields, change.timeline, list(change.events)
        if change.compute is not None:
            update = change.compute({"spec": dict(spec or {}), "status": composed(out)})
            if update is not None:
                _check_owner(change.owner, update.fields)
                fields = {**fields, **update.fields}
                timeline = [*timeline, *update.timeline]
                asked += update.events
        events.append(asked)
        for key, value in fields.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = copy.deepcopy(value)
        if timeline:
            out["timeline"], added = append_entries(out.get("timeline") or [], timeline)
            new_entries.extend(added)
    return _without_nulls(composed(out)), new_entries, events


def _without_nulls(value: Any) -> Any:
    """A status as the API server stores it: a merge patch's null removes a field, so a
    field set to None is no field (and is not sent again at every write)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@dataclass
class _Known:
    resource_version: str
    status: dict[str, Any]
    involved: dict[str, Any]  # apiVersion, kind, metadata (name, namespace, uid): for Events
    spec: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> _Known:
        meta = body.get("metadata") or {}
        return cls(
            resource_version=str(meta.get("resourceVersion") or ""),
            status=dict(body.get("status") or {}),
            spec=dict(body.get("spec") or {}),
            involved={
                "apiVersion": body.get("apiVersion"),
                "kind": body.get("kind", "Incident"),
                "metadata": {
                    "name": meta.get("name"),
                    "namespace": meta.get("namespace"),
                    "uid": meta.get("uid"),
                },
            },
        )


def _newer(a: str, b: str) -> bool:
    """Whether resourceVersion `a` is newer than `b` (etcd revisions; opaque otherwise)."""
    try:
        return int(a) > int(b)
    except ValueError:
        return a != b


@dataclass
class WriterStats:
    """What the writer did (for logs, metrics and tests)."""

    submitted: int = 0
    writes: int = 0
    creates: int = 0
    conflicts: int = 0
    retries: int = 0
    events: int = 0


class IncidentWriter:
    """The one writer of Incident status (see the module's rules). Runs on one event loop;
    other threads use `submit_threadsafe`."""

    def __init__(
        self,
        kube: AsyncKube,
        *,
        clock: Clock,
        linger: float = 0.05,
        hot_linger: float = 0.5,
        cache_size: int = 50_000,
    ) -> None:
        self._kube = kube
        self._clock = clock
        self._linger = linger
        self._hot_linger = max(hot_linger, linger)
        self._cache_size = cache_size
        self._known: OrderedDict[Key, _Known] = OrderedDict()
        self._pending: dict[Key, list[tuple[Change, asyncio.Future[None]]]] = {}
        self._active: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_write: dict[Key, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.stats = WriterStats()
        self.gone: Callable[[str, str], None] = lambda namespace, name: None
        """Called when an incident turns out not to exist (deleted by someone)."""
        self.followers: list[Callable[[str, str], Change | None]] = []
        """Owners whose fields follow from the whole incident (the SLA clocks, the outbox):
        each adds a change worked out at write time to every write, after the others, so
        whatever changed the incident (an alert, a technician, a run) is followed at once by
        its deadlines and its messages, in the same write."""

    # -- submitting -------------------------------------------------------------------------

    def submit(self, namespace: str, name: str, change: Change) -> asyncio.Future[None]:
        """Queue a change (on the writer's loop); the future settles when it is stored (or
        skipped by its `when`), or fails with a permanent error."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        future: asyncio.Future[None] = loop.create_future()
        if self._closed:
            future.set_exception(TemporaryError("the incident writer is closed"))
            return future
        key = (namespace, name)
        self._pending.setdefault(key, []).append((change, future))
        self.stats.submitted += 1
        if key not in self._active:
            self._active.add(key)
            task = loop.create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    def submit_threadsafe(
        self, namespace: str, name: str, change: Change
    ) -> concurrent.futures.Future[None]:
        """`submit` from another thread (the writer must have started on its loop)."""
        if self._loop is None:
            raise TemporaryError("the incident writer has not started")

        async def submit() -> None:
            await self.submit(namespace, name, change)

        return asyncio.run_coroutine_threadsafe(submit(), self._loop)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the writer runs on (for `submit_threadsafe` before any `submit`)."""
        self._loop = loop

    def observe(self, body: Mapping[str, Any]) -> None:
        """An incident as the watch delivered it: remembered when newer than what the writer
        knows, so the next write need not read it first."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        known = self._known.get(key)
        version = str(meta.get("resourceVersion") or "")
        newer = known is None or _newer(version, known.resource_version)
        if newer and (known is not None or key in self._active):
            self._remember(key, _Known.of(body))

    def forget(self, namespace: str, name: str) -> None:
        """The incident was deleted."""
        self._known.pop((namespace, name), None)
        self._last_write.pop((namespace, name), None)

    def busy(self) -> bool:
        """Whether changes are queued or being written."""
        return bool(self._pending or self._active)

    def status(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The status last written or seen (None: not known here)."""
        known = self._known.get((namespace, name))
        return dict(known.status) if known is not None else None

    async def close(self, *, within: float = 30.0) -> None:
        """Write what is queued (for at most `within` seconds), then refuse new changes."""
        self._closed = True
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=within)
            for task in late:
                task.cancel()
        for changes in self._pending.values():
            for _, future in changes:
                if not future.done():
                    future.set_exception(TemporaryError("the incident writer closed"))
        self._pending.clear()

    # -- writing ----------------------------------------------------------------------------

    def _remember(self, key: Key, known: _Known) -> None:
        self._known[key] = known
        self._known.move_to_end(key)
        while len(self._known) > self._cache_size:
            old, _ = self._known.popitem(last=False)
            self._last_write.pop(old, None)

    def _linger_for(self, key: Key) -> float:
        """A quiet incident is written soon; one written within the last hot window waits
        longer, so a storm's joins gather into a few writes."""
        last = self._last_write.get(key)
        if last is not None and time.monotonic() - last < self._hot_linger:
            return self._hot_linger
        return self._linger

    async def _drain(self, key: Key) -> None:
        try:
            while self._pending.get(key):
                if not self._closed:
                    await asyncio.sleep(self._linger_for(key))
                batch = self._pending.pop(key, [])
                if batch:
                    await self._write_batch(key, batch)
        finally:
            self._active.discard(key)
            if self._pending.get(key) and not self._closed:  # arrived as we finished
                self._active.add(key)
                task = asyncio.get_running_loop().create_task(self._drain(key))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _write_batch(
        self, key: Key, batch: list[tuple[Change, asyncio.Future[None]]]
    ) -> None:
        changes = [c for c, _ in batch]
        changes += self._followers(key, changes)
        delay = 0.2
        while True:
            try:
                await self._write(key, changes)
            except NotFoundError as exc:
                self.forget(*key)
                self.gone(*key)
                _settle(batch, exc)
                return
            except PermanentError as exc:
                log.error("incident %s/%s: change refused: %s", *key, exc)
                _settle(batch, exc)
                return
            except (TemporaryError, WhispererError) as exc:
                if self._closed:
                    _settle(batch, exc)
                    return
                self.stats.retries += 1
                log.warning("incident %s/%s not written yet (%s); again in %.1fs", *key, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            _settle(batch, None)
            return

    def _followers(self, key: Key, changes: list[Change]) -> list[Change]:
        """The followers' changes for a write (an owner that already computes in the batch,
        say the SLA scheduler's own tick, is not asked twice)."""
        computing = {c.owner for c in changes if c.compute is not None}
        out = []
        for follow in self.followers:
            change = follow(*key)
            if change is not None and change.owner not in computing:
                out.append(change)
        return out

    async def _load(self, key: Key, changes: list[Change]) -> _Known:
        namespace, name = key
        create = next((c.create for c in changes if c.create is not None), None)
        if create is not None:
            try:
                body = await self._kube.create("incidents", create, namespace)
                self.stats.creates += 1
                return _Known.of(body)
            except ConflictError:
                pass  # made before (a restart, or a retry): read it
        return _Known.of(await self._kube.get("incidents", name, namespace))

    async def _write(self, key: Key, changes: list[Change]) -> list[list[EventSpec]]:
        namespace, name = key
        known = self._known.get(key)
        if known is None:
            known = await self._load(key, changes)
            self._remember(key, known)
        for _ in range(20):
            status, _, events = apply_changes(known.status, changes, spec=known.spec)
            patch = merge_patch(known.status, status)
            if not patch:
                self._post_events(known, events)
                return events
            body = {"metadata": {"resourceVersion": known.resource_version}, "status": patch}
            try:
                stored = await self._kube.patch_status("incidents", name, body, namespace)
            except ConflictError:
                self.stats.conflicts += 1
                known = _Known.of(await self._kube.get("incidents", name, namespace))
                self._remember(key, known)
                continue
            self.stats.writes += 1
            known = _Known.of(stored)
            self._remember(key, known)
            self._last_write[key] = time.monotonic()
            self._post_events(known, events)
            return events
        raise TemporaryError(f"incident {namespace}/{name} kept changing under the writer")

    def _post_events(self, known: _Known, asked: list[list[EventSpec]]) -> None:
        events = [e for each in asked for e in each]
        if not events or not known.involved["metadata"].get("uid"):
            return
        task = asyncio.get_running_loop().create_task(self._post(known.involved, events))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, involved: dict[str, Any], events: list[EventSpec]) -> None:
        namespace = involved["metadata"]["namespace"]
        for spec in events:
            body = event_body(
                involved,
                reason=spec.reason,
                message=spec.message,
                key=spec.key,
                now=self._clock.now(),
                type=spec.type,
            )
            try:
                await self._kube.create("events", body, namespace)
                self.stats.events += 1
            except ConflictError:
                pass  # posted before: the name is the record
            except WhispererError as exc:  # an Event is best effort: status says it all
                log.info("no %s event for %s: %s", spec.reason, involved["metadata"]["name"], exc)


def _settle(batch: list[tuple[Change, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def timeline_entry(at: datetime, type_: str, actor: str, message: str) -> Entry:
    """A timeline entry (the message bounded as the model says)."""
    return {
        "at": rfc3339(at),
        "type": type_,
        "actor": actor[:253],
        "message": message[:1024],
    }


__all__ = [
    "COMPOSED",
    "FIELDS",
    "Change",
    "EventSpec",
    "IncidentWriter",
    "Owner",
    "Update",
    "append_entries",
    "apply_changes",
    "merge_patch",
    "next_due",
    "timeline_entry",
]
