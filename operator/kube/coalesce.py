"""Group commit for status writes: many handlers changing one object within a short
interval make one merge patch, and each handler still learns when its change is stored.

A handler submits its status patch and waits on the returned future before it returns (so
whatever it records after, e.g. the alert's reference to the incident, is written only once
the incident holds the change: a restart cannot lose it). One writer thread takes
everything pending after `linger` seconds, merges the patches of each object in the order
they came (later fields win, as consecutive merge patches would), writes each object once,
and settles the futures; a failed write fails the futures of that object only, and their
handlers retry. Batches are written one after another, so a later patch never lands before
an earlier one.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from whisperer.operator.kube.client import Body, KubeClient

Key = tuple[str | None, str]  # namespace, name


@dataclass
class _Pending:
    patch: dict[str, Any] = field(default_factory=dict)
    waiters: list[Future[None]] = field(default_factory=list)


class StatusCoalescer:
    """Coalesces status merge patches of one kind (`plural`)."""

    def __init__(self, kube: KubeClient, plural: str, *, linger: float = 0.02) -> None:
        self._kube = kube
        self._plural = plural
        self._linger = linger
        self._pending: dict[Key, _Pending] = {}
        self._cond = threading.Condition()
        self._closed = False
        self.writes = 0  # patches sent
        self.submitted = 0  # patches asked for
        self._thread = threading.Thread(target=self._run, name=f"coalesce-{plural}", daemon=True)
        self._thread.start()

    def submit(self, namespace: str | None, name: str, patch: Body) -> Future[None]:
        """Queue a status merge patch; the future settles when it is stored (or failed)."""
        done: Future[None] = Future()
        with self._cond:
            if self._closed:
                done.set_exception(RuntimeError("the status writer is closed"))
                return done
            entry = self._pending.setdefault((namespace, name), _Pending())
            entry.patch.update(patch)
            entry.waiters.append(done)
            self.submitted += 1
            self._cond.notify()
        return done

    def pending(self, namespace: str | None, name: str, key: str) -> Any:
        """A field of the patch queued for an object and not written yet (None: none)."""
        with self._cond:
            entry = self._pending.get((namespace, name))
            return None if entry is None else entry.patch.get(key)

    def close(self) -> None:
        """Write what is queued, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed and not self._pending:
                    return
            time.sleep(self._linger)  # let the joins of a burst gather
            with self._cond:
                batch, self._pending = self._pending, {}
            for (namespace, name), entry in batch.items():
                try:
                    self._kube.patch_status(self._plural, name, entry.patch, namespace)
                except Exception as exc:  # every waiter hears it and retries its handler
                    for waiter in entry.waiters:
                        waiter.set_exception(exc)
                else:
                    for waiter in entry.waiters:
                        waiter.set_result(None)
                self.writes += 1
