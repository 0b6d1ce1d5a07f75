"""Group commit: concurrent reports for one Alert share one API write, durable before we answer.

Each (namespace, fingerprint) has at most one write in flight. Reports that arrive while it
runs wait for the next one, which folds them all, and a key that keeps receiving reports
(a storm) is written at most once per its window: a storm of one alert costs a few writes a
second, not one per report, while a quiet key is written at once. The window of a key starts
at `hot_linger`; it doubles (up to `max_linger`) each time waiting it out gathered more than
one report, and halves when it gathered only one, so a hot fingerprint is written less and
less often. No window is longer than `budget` less two recent write times (a report that
just missed a write waits for it, the window, then its own write), so when the API server
slows down the windows shrink and answers stay within the budget where they can. Different
fingerprints write in parallel (Kubernetes has no batch write). A compare-and-swap on
resourceVersion keeps concurrent shims from losing counts; the deliveries recorded on the
Alert keep redeliveries from counting twice.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from whisperer.operator.errors import ConflictError, NotFoundError, UnavailableError
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.alerts import Report, alert_name, fold, new_alert

Key = tuple[str, str]  # namespace, fingerprint


class AlertWriter:
    """Folds reports into Alert resources; `write` returns once they are durable."""

    def __init__(
        self,
        kube: AsyncKube,
        *,
        cache_size: int = 50_000,
        on_write: Callable[[int], None] | None = None,
        hot_linger: float = 0.1,
        max_linger: float = 0.5,
        budget: float = 1.0,
    ) -> None:
        if not 0 <= hot_linger <= max_linger:
            raise ValueError("need 0 <= hot_linger <= max_linger")
        self._kube = kube
        self._hot_linger = hot_linger
        self._max_linger = max_linger
        self._budget = budget
        self._latency = 0.0
        """How long a write to the API server takes lately (moving average, seconds)."""
        self._pending: dict[Key, list[tuple[Report, asyncio.Future[None]]]] = {}
        self._active: set[Key] = set()
        self._known: OrderedDict[Key, tuple[str, dict[str, Any]]] = OrderedDict()
        self._cache_size = cache_size
        self._on_write = on_write or (lambda _: None)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_write: OrderedDict[Key, tuple[float, float]] = OrderedDict()
        """When each recently written key was last written, and its window now."""

    async def write(self, namespace: str, reports: list[Report]) -> None:
        """Fold every report into its Alert; raise if any could not be written."""
        loop = asyncio.get_running_loop()
        futures = []
        for report in reports:
            key = (namespace, report.fingerprint)
            future: asyncio.Future[None] = loop.create_future()
            self._pending.setdefault(key, []).append((report, future))
            futures.append(future)
            if key not in self._active:
                self._active.add(key)
                task = asyncio.create_task(self._drain(key))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        await asyncio.gather(*futures)

    def window(self, namespace: str, fingerprint: str) -> float:
        """How long the key's next write would wait now (its window), in seconds."""
        window = self._last_write.get((namespace, fingerprint), (0.0, self._hot_linger))[1]
        return min(window, self._cap())

    def _cap(self) -> float:
        """The longest a window may be now: a report that just missed a write waits for it,
        the window and its own write, and that should fit in `budget`."""
        return max(self._hot_linger, min(self._max_linger, self._budget - 2 * self._latency))

    async def _drain(self, key: Key) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending.get(key):
                # A key written less than its window ago is storming: its next round waits
                # out the rest of the window to gather more reports. A quiet key (and
                # every key's first report) is written at once.
                last, window = self._last_write.get(key, (None, self._hot_linger))
                window = min(window, self._cap())  # the API server slowed: shorter
                waited = last is not None and (wait := last + window - loop.time()) > 0
                if waited:
                    await asyncio.sleep(wait)
                batch = self._pending.pop(key)
                # Waiting gathered more than one report: wait longer next time; it gathered
                # one, or the key was quiet: shorter.
                grown = window * 2 if waited and len(batch) > 1 else window / 2
                window = min(self._cap(), max(self._hot_linger, grown))
                self._last_write[key] = (loop.time(), window)
                self._last_write.move_to_end(key)
                while len(self._last_write) > self._cache_size:
                    self._last_write.popitem(last=False)
                started = loop.time()
                try:
                    await self._commit(key, [report for report, _ in batch])
                except Exception as exc:  # every waiter learns why
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
                finally:
                    self._latency = 0.8 * self._latency + 0.2 * (loop.time() - started)
        finally:
            self._active.discard(key)

    def _remember(self, key: Key, obj: dict[str, Any]) -> None:
        self._known[key] = (obj["metadata"]["resourceVersion"], obj["spec"])
        self._known.move_to_end(key)
        while len(self._known) > self._cache_size:
            self._known.popitem(last=False)

    async def _commit(self, key: Key, reports: list[Report]) -> None:
        namespace, fingerprint = key
        name = alert_name(fingerprint)
        for _ in range(8):
            known = self._known.get(key)
            if known is None:
                try:
                    obj = await self._kube.get("alerts", name, namespace)
                except NotFoundError:
                    try:
                        obj = await self._kube.create(
                            "alerts", new_alert(reports, namespace), namespace
                        )
                    except ConflictError:
                        continue  # someone created it meanwhile: fold into theirs
                    self._on_write(len(reports))
                    self._remember(key, obj)
                    return
                self._remember(key, obj)
                known = self._known[key]
            version, spec = known
            update = fold(spec, reports)
            if update is None:
                return  # every report was a redelivery
            patch = {"metadata": {"resourceVersion": version}, "spec": update}
            try:
                obj = await self._kube.patch("alerts", name, patch, namespace)
            except (ConflictError, NotFoundError):
                self._known.pop(key, None)
                continue
            self._on_write(len(reports))
            self._remember(key, obj)
            return
        raise UnavailableError(f"alert {namespace}/{name} kept changing; retry", delay=1)
