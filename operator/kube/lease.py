"""Leader election over a coordination.k8s.io/v1 Lease, so that of several operator replicas
exactly one acts and a standby takes over when the leader dies.

Kopf's peering pauses a replica while a peer of higher priority is present; it does not hand
over when the leader dies, and it lets two replicas act while their peering objects catch
up. This is client-go's algorithm (tools/leaderelection): a candidate takes the Lease when it
is free or when the holder has not renewed it for the holder's lease duration, *as measured
on the candidate's own clock since it last saw the record change* (so clock skew between
nodes does not matter); the leader renews every retry period and stops leading when it could
not renew for the renew deadline, which is shorter than the lease duration, so it has stopped
before anyone else may start. A clean stop releases the Lease, and a standby takes it at its
next attempt instead of waiting out the lease duration.

    elector = LeaderElector(KubeLeases(kube, namespace=..., name=...), identity=..., clock=...)
    await elector.run(on_started_leading=lead)   # returns once leadership is lost or stopped

`run` starts `on_started_leading()` as a task when it becomes leader and cancels it (and
waits for it to finish) before it releases the Lease or returns; `is_leader` is an
`asyncio.Event` set exactly while it leads. After `run` returns without `stop()` having been
called, leadership was lost: the process should exit (and be restarted), as client-go's users
do, rather than keep state that another leader is now changing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from kubernetes import client

from whisperer.operator.clock import Clock
from whisperer.operator.errors import ConflictError, NotFoundError, PermanentError, WhispererError
from whisperer.operator.kube.client import KubeClient, translated_errors

log = logging.getLogger(__name__)

JITTER = 1.2
"""client-go's jitter factor: a candidate waits retry_period * (1 + JITTER * random())."""


# -- the record and where it is kept -----------------------------------------------------------


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says about its leader (spec), and its resourceVersion."""

    holder: str | None
    """spec.holderIdentity; None or empty when nobody holds it (released)."""
    duration: int
    """spec.leaseDurationSeconds, as the holder declared it."""
    acquired: datetime | None = None
    renewed: datetime | None = None
    transitions: int = 0
    resource_version: str | None = None


class LeaseStore(Protocol):
    """Reads and writes one Lease; writes are compare-and-swap on the resourceVersion."""

    async def get(self) -> LeaseRecord | None:
        """The Lease, or None when it does not exist."""
        ...

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create it; ConflictError when it exists."""
        ...

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace it if its resourceVersion is still `record.resource_version`, else
        ConflictError."""
        ...


def _micro_time(when: datetime | None) -> str | None:
    """A MicroTime as the API server writes it (RFC 3339, microseconds, Z)."""
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(raw: Any) -> datetime | None:
    return datetime.fromisoformat(str(raw)) if raw else None


def _from_body(body: Mapping[str, Any]) -> LeaseRecord:
    spec = body.get("spec") or {}
    return LeaseRecord(
        holder=spec.get("holderIdentity") or None,
        duration=int(spec.get("leaseDurationSeconds") or 0),
        acquired=_parse_time(spec.get("acquireTime")),
        renewed=_parse_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=(body.get("metadata") or {}).get("resourceVersion"),
    )


class KubeLeases:
    """A LeaseStore over the kube wrapper's client (the official client, run in a thread;
    each request is bounded by `timeout` seconds so a renewal cannot hang past its deadline)."""

    def __init__(
        self, kube: KubeClient, *, namespace: str, name: str, timeout: float = 5.0
    ) -> None:
        self.namespace = namespace
        self.name = name
        self._api = client.CoordinationV1Api(kube.api_client)
        self._timeout = timeout

    def _body(self, record: LeaseRecord) -> dict[str, Any]:
        spec = {
            "holderIdentity": record.holder,
            "leaseDurationSeconds": record.duration,
            "acquireTime": _micro_time(record.acquired),
            "renewTime": _micro_time(record.renewed),
            "leaseTransitions": record.transitions,
        }
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.resource_version:
            meta["resourceVersion"] = record.resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {k: v for k, v in spec.items() if v is not None},
        }

    def _call(self, what: str, method: Callable[..., Any], *args: Any) -> LeaseRecord:
        with translated_errors(f"{what} lease {self.namespace}/{self.name}"):
            response = method(*args, _preload_content=False, _request_timeout=self._timeout)
        try:
            return _from_body(json.loads(response.data))
        finally:
            response.release_conn()

    def _get(self) -> LeaseRecord | None:
        try:
            return self._call("get", self._api.read_namespaced_lease, self.name, self.namespace)
        except NotFoundError:
            return None

    async def get(self) -> LeaseRecord | None:
        """The Lease, or None when it does not exist."""
        return await asyncio.to_thread(self._get)

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create it; ConflictError when it exists."""
        body = self._body(replace(record, resource_version=None))
        return await asyncio.to_thread(
            self._call, "create", self._api.create_namespaced_lease, self.namespace, body
        )

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace it (compare-and-swap on the resourceVersion); ConflictError when it moved."""
        return await asyncio.to_thread(
            self._call,
            "update",
            self._api.replace_namespaced_lease,
            self.name,
            self.namespace,
            self._body(record),
        )


# -- configuration ------------------------------------------------------------------------------


def default_identity(environ: Mapping[str, str]) -> str:
    """The pod's name ($POD_NAME, from the downward API), else hostname_pid."""
    return environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


def _check_timing(lease_duration: int, renew_deadline: float, retry_period: float) -> str | None:
    """Why these durations cannot work together, or None (client-go's rules)."""
    if retry_period <= 0:
        return "the retry period must be positive"
    if renew_deadline <= JITTER * retry_period:
        return f"the renew deadline must be longer than {JITTER} retry periods"
    if lease_duration <= renew_deadline:
        return (
            "the lease duration must be longer than the renew deadline (a leader must have "
            "stopped before a standby may take over)"
        )
    return None


@dataclass(frozen=True)
class LeaderElectionSettings:
    """Whether and how the operator elects its leader; read once at startup by `from_env`."""

    enabled: bool = False
    lease_name: str = "alert-whisperer-operator"
    namespace: str = "alert-whisperer"
    identity: str = ""
    lease_duration: int = 15
    """Seconds a standby waits after the last renewal it saw before taking over."""
    renew_deadline: float = 10.0
    """Seconds the leader keeps failing to renew before it stops leading."""
    retry_period: float = 2.0
    """Seconds between attempts to acquire or renew."""

    def __post_init__(self) -> None:
        problem = _check_timing(self.lease_duration, self.renew_deadline, self.retry_period)
        if problem:
            raise ValueError(problem)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LeaderElectionSettings:
        """The settings in `environ` (read when called). A malformed value is a
        PermanentError naming the variable."""

        def number(name: str, default: float) -> float:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise PermanentError(f"{name} must be a number of seconds, not {raw!r}") from None
            if not math.isfinite(value) or value <= 0:
                raise PermanentError(f"{name} must be a positive number of seconds, not {raw!r}")
            return value

        raw_enabled = environ.get("WHISPERER_LEADER_ELECTION", "").strip().lower()
        if raw_enabled not in ("", "true", "false", "1", "0"):
            raise PermanentError(
                f"WHISPERER_LEADER_ELECTION must be true or false, not {raw_enabled!r}"
            )
        duration = number("WHISPERER_LEASE_DURATION_SECONDS", 15)
        if duration != int(duration):
            raise PermanentError(
                f"WHISPERER_LEASE_DURATION_SECONDS must be whole seconds (a Lease stores "
                f"leaseDurationSeconds as an integer), not {duration}"
            )
        renew = number("WHISPERER_LEASE_RENEW_DEADLINE_SECONDS", 10)
        retry = number("WHISPERER_LEASE_RETRY_PERIOD_SECONDS", 2)
        problem = _check_timing(int(duration), renew, retry)
        if problem:
            raise PermanentError(
                f"WHISPERER_LEASE_DURATION_SECONDS={duration:g}, "
                f"WHISPERER_LEASE_RENEW_DEADLINE_SECONDS={renew:g}, "
                f"WHISPERER_LEASE_RETRY_PERIOD_SECONDS={retry:g}: {problem}"
            )
        return cls(
            enabled=raw_enabled in ("true", "1"),
            lease_name=environ.get("WHISPERER_LEASE_NAME") or cls.lease_name,
            namespace=environ.get("WHISPERER_LEASE_NAMESPACE")
            or environ.get("POD_NAMESPACE")
            or cls.namespace,
            identity=default_identity(environ),
            lease_duration=int(duration),
            renew_deadline=renew,
            retry_period=retry,
        )


# -- the elector --------------------------------------------------------------------------------


class LeaderElector:
    """One candidate for one Lease. See the module's docstring for the protocol."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        identity: str,
        clock: Clock,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_stop: bool = True,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        problem = _check_timing(lease_duration, renew_deadline, retry_period)
        if problem:
            raise ValueError(problem)
        if not identity:
            raise ValueError("a leader elector needs a non-empty identity")
        self.store = store
        self.identity = identity
        self.clock = clock
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_stop = release_on_stop
        self._jitter = jitter
        self.is_leader = asyncio.Event()
        """Set exactly while this candidate leads."""
        self._stop = asyncio.Event()
        self._lost = False
        self._observed: LeaseRecord | None = None
        self._observed_at: datetime | None = None
        self._renewed_at: datetime | None = None
        """When the last good acquire or renewal of ours began (the fence counts from it)."""

    @classmethod
    def from_settings(
        cls, kube: KubeClient, settings: LeaderElectionSettings, *, clock: Clock
    ) -> LeaderElector:
        """An elector for the Lease the settings name, through the kube wrapper's client."""
        store = KubeLeases(
            kube,
            namespace=settings.namespace,
            name=settings.lease_name,
            timeout=settings.retry_period,
        )
        return cls(
            store,
            identity=settings.identity or default_identity(os.environ),
            clock=clock,
            lease_duration=settings.lease_duration,
            renew_deadline=settings.renew_deadline,
            retry_period=settings.retry_period,
        )

    @property
    def stopping(self) -> bool:
        """Whether stop() was called (run returns; with leadership, after releasing it)."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask run() to stop: it stops leading, releases the Lease and returns."""
        self._stop.set()

    def holds(self) -> bool:
        """The fence, asked before every write: whether this candidate leads *and* its last
        good renewal began less than the renew deadline ago on its clock. A leader cut off
        from the API server fails this as soon as no standby could yet have taken over
        (renew deadline < lease duration), even before its renew loop has noticed."""
        if not self.is_leader.is_set() or self._renewed_at is None:
            return False
        return self.clock.now() - self._renewed_at < timedelta(seconds=self.renew_deadline)

    async def run(
        self,
        on_started_leading: Callable[[], Coroutine[Any, Any, None]] | None = None,
        on_stopped_leading: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait for the Lease, lead until it is lost or stop() is called, then return.

        Cancelling run() is a stop too, and so is `on_started_leading` returning: the Lease
        is released (with `release_on_stop`) unless it was lost. A crashed process releases
        nothing, and the others wait out the lease duration.
        """
        leading: asyncio.Task[None] | None = None
        try:
            if not await self._acquire():
                return
            self.is_leader.set()
            log.info("%s leads (Lease %s)", self.identity, self._describe())
            if on_started_leading is not None:
                leading = asyncio.create_task(on_started_leading())
            await self._renew(leading)
        finally:
            was_leader = self.is_leader.is_set()
            self.is_leader.clear()
            if leading is not None:
                # The work stops before the Lease is let go: never two leaders acting at once.
                leading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await leading
            if was_leader:
                if self.release_on_stop and not self._lost:
                    await self._release()
                log.info("%s stopped leading", self.identity)
                if on_stopped_leading is not None:
                    await on_stopped_leading()

    # -- steps ---------------------------------------------------------------------------------

    async def _acquire(self) -> bool:
        """Try every retry period (jittered) until this candidate holds the Lease or stops."""
        while not self._stop.is_set():
            if await self._try_acquire_or_renew():
                return True
            wait = self.retry_period * (1 + JITTER * self._jitter())
            await self.clock.sleep_until(self._after(wait), wake=self._stop)
        return False

    async def _renew(self, leading: asyncio.Task[None] | None) -> None:
        """Renew every retry period; return when renewals have failed for the renew deadline
        (leadership lost), when the work ended by itself, or on stop.

        A renewal counts from the moment its attempt began (before the write, so never later
        than a standby's view of it): the leader gives up at most renew_deadline plus one
        request's timeout after its last write, before the lease duration has passed."""
        last_renewed = self.clock.now()
        while not self._stop.is_set():
            await self.clock.sleep_until(self._after(self.retry_period), wake=self._stop)
            if self._stop.is_set() or (leading is not None and leading.done()):
                return
            began = self.clock.now()
            if await self._try_acquire_or_renew():
                last_renewed = began
                continue
            if self.clock.now() - last_renewed >= timedelta(seconds=self.renew_deadline):
                log.warning(
                    "%s could not renew the Lease for %gs: it stops leading",
                    self.identity,
                    self.renew_deadline,
                )
                self._lost = True
                return

    async def _try_acquire_or_renew(self) -> bool:
        """One attempt, as client-go's tryAcquireOrRenew. False on any refusal or error."""
        now = self.clock.now()
        try:
            current = await self.store.get()
            if current is None:
                mine = LeaseRecord(self.identity, self.lease_duration, now, now, 0)
                self._observe(await self.store.create(mine), now)
                self._renewed_at = now
                return True
            if current != self._observed:
                self._observe(current, now)
            held_by_other = bool(current.holder) and current.holder != self.identity
            if held_by_other and not self._expired(current, now):
                return False
            ours = current.holder == self.identity
            mine = LeaseRecord(
                holder=self.identity,
                duration=self.lease_duration,
                acquired=current.acquired if ours else now,
                renewed=now,
                transitions=current.transitions if ours else current.transitions + 1,
                resource_version=current.resource_version,
            )
            updated = await self.store.update(mine)
        except ConflictError:
            return False  # someone else wrote it first; look again next time
        except WhispererError as exc:
            log.warning("%s: leader election attempt failed: %s", self.identity, exc)
            return False
        if not ours:
            log.info(
                "%s took the Lease from %s (transition %d)",
                self.identity,
                current.holder or "nobody",
                updated.transitions,
            )
        self._observe(updated, now)
        self._renewed_at = now
        return True

    async def _release(self) -> None:
        """Let go of the Lease so a standby takes it at once (not after the lease duration)."""
        observed = self._observed
        if observed is None or observed.holder != self.identity:
            return
        now = self.clock.now()
        released = LeaseRecord(
            holder=None,
            duration=1,
            acquired=now,
            renewed=now,
            transitions=observed.transitions,
            resource_version=observed.resource_version,
        )
        try:
            self._observe(await self.store.update(released), now)
            log.info("%s released the Lease", self.identity)
        except WhispererError as exc:  # it moved on meanwhile, or the API server is away
            log.warning("%s could not release the Lease: %s", self.identity, exc)

    # -- helpers -------------------------------------------------------------------------------

    def _observe(self, record: LeaseRecord, now: datetime) -> None:
        self._observed, self._observed_at = record, now

    def _expired(self, record: LeaseRecord, now: datetime) -> bool:
        """Whether the holder's lease ran out, on our clock, since we saw the record change."""
        seen = self._observed_at or now
        return now >= seen + timedelta(seconds=record.duration)

    def _after(self, seconds: float) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)

    def _describe(self) -> str:
        store = self.store
        if isinstance(store, KubeLeases):
            return f"{store.namespace}/{store.name}"
        return type(store).__name__


__all__ = [
    "KubeLeases",
    "LeaderElectionSettings",
    "LeaderElector",
    "LeaseRecord",
    "LeaseStore",
    "default_identity",
]
