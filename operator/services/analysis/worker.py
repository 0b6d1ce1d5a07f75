"""Analyses run off the critical path: a small pool of threads of their own asks the model,
one incident at a time, and hands the answer to the incident writer. Correlation never
waits for it.

What it decides comes from the incident's status alone (`analysis.inputHash`), so a repeated
event or a restart asks nothing twice; an answer is stored only if the incident still shows
the input it was about (the writer checks, at write time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.analysis.analyst import Analyst
from whisperer.operator.services.analysis.verdict import record
from whisperer.operator.services.analysis.view import view_of, wanted
from whisperer.operator.services.incident_writer import Change, EventSpec, IncidentWriter, Owner

log = logging.getLogger(__name__)


class Worker:
    """Runs analyses in its own threads, one at a time per incident; events that come while
    one runs fold into one more run after it (the latest state wins)."""

    def __init__(self, analyst: Analyst, *, kube: KubeClient, writer: IncidentWriter) -> None:
        self.analyst = analyst
        self._kube = kube
        self._writer = writer
        self._pool = ThreadPoolExecutor(
            max_workers=analyst.settings.workers, thread_name_prefix="whisperer-ai"
        )
        self._again: dict[tuple[str, str], bool] = {}  # running incidents: run again after?
        self._guard = threading.Lock()
        self._closed = False

    def wants(self, status: Mapping[str, Any]) -> bool:
        """Whether an incident's status calls for a question: an input not asked about yet."""
        view = wanted(status)
        if view is None:
            return False
        recorded = status.get("analysis") or {}
        return bool(recorded.get("inputHash") != view.input_hash(self.analyst.settings.model))

    def submit(self, namespace: str, name: str) -> None:
        """Analyse the incident soon, in a worker thread."""
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
        timeout), so no thread uses the clients after they are closed. Idempotent."""
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
        settings = self.analyst.settings
        status = self._kube.get("incidents", name, namespace).get("status") or {}
        view = wanted(status)
        if view is None:
            return
        input_hash = view.input_hash(settings.model)
        if (status.get("analysis") or {}).get("inputHash") == input_hash:
            return
        result = self.analyst.analyse(view)  # the slow part
        answer = record(result, status, min_confidence=settings.min_confidence, view=view)

        def still_current(now: Mapping[str, Any]) -> bool:
            current = view_of(now)
            return current is not None and current.input_hash(settings.model) == input_hash

        events = []
        if answer["appliedSeverity"]:
            cause = answer.get("probableCause") or {}
            events.append(
                EventSpec(
                    "AnalysisDecided",
                    f"ai:{settings.model}: severity {answer['suggestedSeverity']}, cause "
                    f"{cause.get('asset')} {cause.get('signal')} ({answer['note']})",
                    f"AnalysisDecided/{input_hash[:16]}",
                )
            )
        change = Change(Owner.ANALYSIS, {"analysis": answer}, events=events, when=still_current)
        if self._closed:
            return
        try:
            self._writer.submit_threadsafe(namespace, name, change).result(timeout=60)
        except WhispererError as exc:
            log.info("analysis of %s/%s not stored: %s", namespace, name, exc)
