"""Optional AI analysis of incidents, off the critical path: a watch on incidents hands the
work to a small pool of threads of its own, and the answer lands in `status.analysis` (and
decides severity and root cause when confident). Correlation never waits for it.

A raw-event handler, not a changing one: it has no progress to store and no retries to
schedule, and it sees the status changes (correlation's writes) that call for a new
analysis. What it decides comes from the incident's status alone (`inputHash`,
`appliedSeverity`), so a repeated event or a restart asks nothing twice.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.handlers.correlation import LOCK
from whisperer.operator.models.v1alpha1 import GROUP, VERSION
from whisperer.operator.services import analysis

log = logging.getLogger(__name__)


class Worker:
    """Runs analyses in its own threads, one at a time per incident; events that come while
    one runs fold into one more run after it (the latest state wins)."""

    def __init__(self, analyst: analysis.Analyst, memo: kopf.Memo) -> None:
        self.analyst = analyst
        self._memo = memo  # memo.kube is made by the runner's startup, maybe after ours
        self._pool = ThreadPoolExecutor(
            max_workers=analyst.settings.workers, thread_name_prefix="whisperer-ai"
        )
        self._again: dict[tuple[str, str], bool] = {}  # running incidents: run again after?
        self._guard = threading.Lock()
        self._closed = False

    def wants(self, status: dict[str, Any]) -> bool:
        """Whether an incident's status calls for work: an input not analysed yet, or the
        AI's decision to put back after a correlation write that left the input as it was."""
        view = analysis.view_of(status)
        if view is None:
            return False
        recorded = status.get("analysis") or {}
        if recorded.get("inputHash") != view.input_hash(self.analyst.settings.model):
            return True
        return bool(recorded.get("appliedSeverity"))

    def submit(self, namespace: str, name: str) -> None:
        """Reconcile the incident's analysis soon, in a worker thread."""
        key = (namespace, name)
        with self._guard:
            if self._closed:
                return
            if key in self._again:
                self._again[key] = True
                return
            self._again[key] = False
            self._pool.submit(self._run, key)

    def close(self) -> None:
        """Drop queued work and wait for what is in flight (a model request ends by its
        timeout and writes nothing), so no thread uses the clients after they are closed.
        Closing twice is harmless."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.analyst.close()

    def _run(self, key: tuple[str, str]) -> None:
        while True:
            try:
                self._reconcile(*key)
            except NotFoundError:
                pass  # the incident (or its namespace) went away: nothing to analyse
            except Exception:  # a worker thread has nobody to raise to
                log.exception("AI analysis of %s/%s failed", *key)
            with self._guard:
                if self._closed or not self._again.get(key):
                    self._again.pop(key, None)
                    return
                self._again[key] = False

    def _reconcile(self, namespace: str, name: str) -> None:
        kube = self._memo.kube
        settings = self.analyst.settings
        status = kube.get("incidents", name, namespace).get("status") or {}
        view = analysis.view_of(status)
        if view is None:
            return
        input_hash = view.input_hash(settings.model)
        recorded = status.get("analysis") or {}
        if recorded.get("inputHash") != input_hash:
            result = self.analyst.analyse(view)  # the slow part, outside the lock
        elif recorded.get("appliedSeverity"):
            result = analysis.Analysis.from_status(recorded)
        else:
            return
        # Correlation writes under the same lock: nothing comes between this read and write.
        with LOCK:
            if self._closed:
                return
            current = kube.get("incidents", name, namespace)
            status = current.get("status") or {}
            now = analysis.view_of(status)
            if now is None or now.input_hash(settings.model) != input_hash:
                return  # it moved on; the event of that change asked for another run
            patch = analysis.status_patch(
                result, status, min_confidence=settings.min_confidence, view=now
            )
            kube.patch_status("incidents", name, patch, namespace)
        if patch["analysis"]["appliedSeverity"] and recorded.get("inputHash") != input_hash:
            self._announce(current, patch, input_hash)

    def _announce(self, incident: dict[str, Any], patch: dict[str, Any], input_hash: str) -> None:
        """An Event saying the AI decided (best effort: the status already says so)."""
        cause = patch["rootCause"]
        try:
            self._memo.kube.record_event(
                incident,
                reason="AnalysisDecided",
                message=f"ai:{self.analyst.settings.model}: severity {patch['severity']}, "
                f"cause {cause['asset']} {cause['signal']} ({patch['analysis']['note']})",
                key=f"AnalysisDecided/{input_hash[:16]}",
            )
        except WhispererError as exc:
            log.info("no AnalysisDecided event for %s: %s", incident["metadata"]["name"], exc)


@kopf.on.startup()
def start(memo: kopf.Memo, **_: Any) -> None:
    """Read the AI settings (now, not at import) and start the workers, when configured."""
    memo.analysis = None
    try:
        analyst = analysis.analyser()
    except WhispererError as exc:
        log.error("AI analysis is off: %s", exc)
        return
    if analyst is None:
        log.info("AI analysis is off (no provider or key): the rules decide")
        return
    memo.analysis = Worker(analyst, memo)
    settings = analyst.settings
    log.info(
        "AI analysis on: %s %s, decides at confidence >= %s, budget %s USD a day",
        settings.provider,
        settings.model,
        settings.min_confidence,
        settings.budget_usd_per_day,
    )


def stop(memo: kopf.Memo) -> None:
    """Stop the workers and close the SDK's client (called by the runner's cleanup, before
    it closes the Kubernetes client the workers use)."""
    worker: Worker | None = getattr(memo, "analysis", None)
    if worker is not None:
        worker.close()


@kopf.on.event(GROUP, VERSION, "incidents")
def analyse(
    event: kopf.RawEvent,
    status: kopf.Status,
    namespace: str | None,
    name: str | None,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Hand an incident whose status calls for analysis to the workers; return at once."""
    worker: Worker | None = getattr(memo, "analysis", None)
    if worker is None or event.get("type") == "DELETED" or not namespace or not name:
        return
    if worker.wants(dict(status)):
        worker.submit(namespace, name)
