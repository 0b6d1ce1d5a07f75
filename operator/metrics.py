"""The operator's Prometheus metrics: one registry per operator, behind a small typed API, so
that the modules that count (the runner's hooks on the incident writer, the SLA scheduler,
the notification sender, the leader elector) never touch prometheus_client themselves.

    metrics = OperatorMetrics()
    metrics.incident_opened(company="acme-dental", severity="critical")
    metrics.notification(channel="email", outcome="sent")
    body, content_type = metrics.exposition()

Every name is in docs/observability.md; the dashboard's queries are checked against this
registry (tests/chart/test_dashboard_queries.py). Labels are bounded: companies, severities,
channel types, outcomes, SLA clocks, levels; never an incident's name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "whisperer_operator"
STALE_AFTER = 30.0
"""Seconds without a heartbeat of the event loop after which /healthz fails."""

log = logging.getLogger(__name__)


class OperatorMetrics:
    """Every metric the operator exports, in its own registry (tests build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self._opened = Counter(
            f"{PREFIX}_incidents_opened",
            "Incidents opened, by company and severity.",
            ["company", "severity"],
            registry=r,
        )
        self._resolved = Counter(
            f"{PREFIX}_incidents_resolved",
            "Incidents resolved, by company, severity and who resolved them.",
            ["company", "severity", "by"],
            registry=r,
        )
        self._time_to_resolve = Histogram(
            f"{PREFIX}_incident_resolution_seconds",
            "Time from an incident's opening to its resolution (MTTR: sum / count).",
            ["company"],
            registry=r,
            buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200),
        )
        self._breaches = Counter(
            f"{PREFIX}_sla_breaches",
            "SLA breaches, by company and clock (response, resolution).",
            ["company", "clock"],
            registry=r,
        )
        self._escalations = Counter(
            f"{PREFIX}_escalations",
            "Escalation levels reached, by company and level.",
            ["company", "level"],
            registry=r,
        )
        self._notifications = Counter(
            f"{PREFIX}_notifications",
            "Notification attempts, by channel type and outcome (sent, failed, pending, ...).",
            ["channel", "outcome"],
            registry=r,
        )
        self._lag = Histogram(
            f"{PREFIX}_scheduler_lag_seconds",
            "How late the SLA scheduler took a due time (clock now minus the due time).",
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self._lag_last = Gauge(
            f"{PREFIX}_scheduler_lag_last_seconds",
            "The SLA scheduler's lag at its latest due time.",
            registry=r,
        )
        self._leader = Gauge(
            f"{PREFIX}_leader",
            "1 while this replica leads (acts), 0 while it stands by.",
            registry=r,
        )
        self._writes = Counter(
            f"{PREFIX}_incident_writes",
            "Status writes of incidents stored by the incident writer.",
            registry=r,
        )
        self.heartbeat = time.monotonic()
        """Bumped by the runner's event loop (`beat`); /healthz fails when it goes stale."""
        self.state = "starting"
        """What /readyz reports: starting, standby, leading, active (leading, memory rebuilt)."""

    # -- incidents ----------------------------------------------------------------------------

    def incident_opened(self, *, company: str, severity: str) -> None:
        """An incident was stored open for the first time."""
        self._opened.labels(company, severity).inc()

    def incident_resolved(
        self, *, company: str, severity: str, by: str, seconds: float | None = None
    ) -> None:
        """An incident was stored resolved; `seconds` from its opening, when known."""
        self._resolved.labels(company, severity, by).inc()
        if seconds is not None and seconds >= 0:
            self._time_to_resolve.labels(company).observe(seconds)

    def incident_stored(
        self, *, company: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]
    ) -> None:
        """One status write of an incident: counts the openings and resolutions it made
        (phase moves between `before` and `after`), and the SLA breaches and escalation
        levels it recorded; each write counted once, whatever retries it took."""
        self._writes.inc()
        was = str((before or {}).get("phase") or "")
        now = str(after.get("phase") or "")
        severity = str(after.get("severity") or "unknown")
        if not was and now:
            self.incident_opened(company=company, severity=severity)
        old_sla, new_sla = (before or {}).get("sla") or {}, after.get("sla") or {}
        for clock in ("response", "resolution"):
            flag = f"{clock}Breached"
            if new_sla.get(flag) and not old_sla.get(flag):
                self.sla_breach(company=company, clock=clock)
        level = int(after.get("escalationLevel") or 0)
        for reached in range(int((before or {}).get("escalationLevel") or 0) + 1, level + 1):
            self.escalation(company=company, level=reached)
        if int(new_sla.get("escalationRepeats") or 0) > int(old_sla.get("escalationRepeats") or 0):
            self.escalation(company=company, level=level)  # the last level, again
        if now == "Resolved" and was != "Resolved":
            self.incident_resolved(
                company=company,
                severity=severity,
                by=_resolver(after.get("resolvedBy")),
                seconds=_between(after.get("openedAt"), after.get("resolvedAt")),
            )

    # -- SLA (from the stored writes) and notifications (the sender's attempts) ----------------

    def sla_breach(self, *, company: str, clock: str) -> None:
        """An SLA clock (response or resolution) breached."""
        self._breaches.labels(company, clock).inc()

    def escalation(self, *, company: str, level: int) -> None:
        """An incident reached escalation `level`."""
        self._escalations.labels(company, str(level)).inc()

    def notification(self, *, channel: str, outcome: str) -> None:
        """One attempt of an outbox entry on a channel type, and how it ended."""
        self._notifications.labels(channel, outcome).inc()

    def scheduler_lag(self, seconds: float) -> None:
        """The SLA scheduler took a due time `seconds` late."""
        seconds = max(seconds, 0.0)
        self._lag.observe(seconds)
        self._lag_last.set(seconds)

    # -- the replica ----------------------------------------------------------------------------

    def leader(self, leading: bool) -> None:
        """Whether this replica leads now."""
        self._leader.set(1 if leading else 0)

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def beat(self) -> None:
        """The event loop is alive (called every few seconds by the runner)."""
        self.heartbeat = time.monotonic()

    def healthy(self) -> bool:
        """Whether the event loop has beaten within STALE_AFTER seconds."""
        return time.monotonic() - self.heartbeat < STALE_AFTER


class ProbeServer:
    """/metrics, /healthz and /readyz over HTTP, in a thread of its own (so a scrape never
    waits for the event loop, and a stuck loop shows as a stale heartbeat on /healthz).

    /healthz: 200 while the event loop beats. /readyz: 200 once this replica is active (it
    leads and its memory is rebuilt) or stands by (ready to take over), 503 while starting."""

    def __init__(
        self, metrics: OperatorMetrics, *, host: str, port: int, ready: Callable[[], bool]
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, kind = metrics.exposition()
                    self._answer(200, body, kind)
                elif path == "/healthz":
                    ok = metrics.healthy()
                    self._answer(200 if ok else 503, b"ok\n" if ok else b"event loop stalled\n")
                elif path == "/readyz":
                    self._answer(200 if ready() else 503, f"{metrics.state}\n".encode())
                else:
                    self._answer(404, b"not found\n")

            def _answer(self, code: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # probes every few seconds: not worth a log line

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="probes", daemon=True
        )
        self._thread.start()
        log.info("serving /metrics, /healthz and /readyz on %s:%d", host, self.port)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def parse_address(raw: str) -> tuple[str, int]:
    """host:port (host may be empty: every address), as --metrics-address takes it."""
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--metrics-address must be host:port (e.g. 0.0.0.0:8080), not {raw!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _resolver(raw: Any) -> str:
    """A bounded label for who resolved it: auto, merge, or technician (never a name)."""
    text = str(raw or "").lower()
    if not text:
        return "unknown"
    if "auto" in text or text.startswith("system"):
        return "auto"
    if "merge" in text:
        return "merge"
    return "technician"


def _between(start: Any, end: Any) -> float | None:
    try:
        return (
            datetime.fromisoformat(str(end).replace("Z", "+00:00"))
            - datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        ).total_seconds()
    except (TypeError, ValueError):
        return None


__all__ = ["PREFIX", "OperatorMetrics", "ProbeServer", "parse_address"]
