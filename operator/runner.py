"""The `whisperer-operator` entry point and composition root: settings read once, the clock,
the clients and the services built here (`build`) and handed to every handler as one typed
`Runtime`; then Kopf, watching the whole cluster.

Kopf's bookkeeping lives in each object's status (`status.operator`), not in annotations:
only the operator may write status (RBAC), so a tenant who edits their own object's
metadata cannot make the operator skip or repeat a step. See docs/decisions.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import kopf

import whisperer.operator.handlers  # noqa: F401  (registers the Kopf handlers)
from whisperer.operator import notify
from whisperer.operator.aws import Aws
from whisperer.operator.azure import Azure
from whisperer.operator.clock import Clock, SystemClock
from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.handlers import activation
from whisperer.operator.handlers.clouds import Clouds
from whisperer.operator.handlers.remediation import Remediator
from whisperer.operator.kube import KubeClient, load_connection
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.kube.lease import LeaderElector
from whisperer.operator.metrics import OperatorMetrics, ProbeServer, parse_address
from whisperer.operator.models.v1alpha1 import GROUP
from whisperer.operator.runtime import Runtime
from whisperer.operator.services import analysis
from whisperer.operator.services.analysis.worker import Worker
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation.executor import Executor
from whisperer.operator.services.correlation.service import CorrelationService
from whisperer.operator.services.gitsync import BuildCache
from whisperer.operator.services.incident_writer import IncidentWriter
from whisperer.operator.services.notifications import transports
from whisperer.operator.services.notifications.planner import NotificationPlanner
from whisperer.operator.services.notifications.ratelimit import RateLimiter
from whisperer.operator.services.notifications.render import Renderer
from whisperer.operator.services.notifications.sender import NotificationSender
from whisperer.operator.services.sla.service import SlaService
from whisperer.operator.services.tenancy import company_of_namespace
from whisperer.operator.settings import Settings

FINALIZER = f"{GROUP}/finalizer"
FIELD_MANAGER = "alert-whisperer-operator"
log = logging.getLogger(__name__)

_clock: Clock | None = None  # a test's clock, for the next operator started in-process
_current: Runtime | None = None
_settings: Settings | None = None  # read once by main(), for the startup that follows
_elector: LeaderElector | None = None  # with leader election: the fence of every write
_metrics: OperatorMetrics | None = None  # main()'s, served by its probe server


@contextlib.contextmanager
def clock_for_tests(clock: Clock) -> Iterator[None]:
    """Operators started in this process within the block run on `clock`."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield
    finally:
        _clock = previous


def current() -> Runtime | None:
    """The runtime of the operator running in this process (for tests)."""
    return _current


def configure(settings: kopf.OperatorSettings) -> None:
    """Apply our storage, finalizer and posting settings to Kopf's settings."""
    # status.operator.progress, and status.operator.dummy to wake a handler after a delay.
    settings.persistence.progress_storage = kopf.StatusProgressStorage(name="operator")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
        name="operator", field="status.{name}.lastHandledConfiguration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30


def build(settings: Settings, *, clock: Clock) -> Runtime:
    """Every client and service the operator runs with, wired together."""
    kube = KubeClient.from_kubeconfig()
    akube = AsyncKube(load_connection(), timeout=30.0)
    config = ConfigStore()
    correlation = CorrelationService(config=config, clock=clock)
    writer = IncidentWriter(
        akube,
        clock=clock,
        linger=settings.incident_linger_seconds,
        hot_linger=settings.incident_hot_linger_seconds,
    )
    executor = Executor(
        service=correlation, writer=writer, kube=akube, in_flight=settings.alerts_in_flight
    )
    sla = SlaService(config=config, clock=clock, writer=writer)
    notes = settings.notifications
    planner = NotificationPlanner(config=config, clock=clock, msp_admins=notes.msp_admins)
    # The SLA clocks, then the outbox, follow every write to an incident.
    writer.followers = [sla.follower, planner.follower]

    async def read_run(namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await akube.get("runbookexecutions", name, namespace)
        except NotFoundError:
            return None

    aws = Aws(settings.aws, clock=clock)
    session = notify.make_session(ca_file=notes.ca_file)
    sender = NotificationSender(
        planner=planner,
        writer=writer,
        config=config,
        clock=clock,
        dispatcher=transports.dispatcher(session, akube, aws, ca_file=notes.ca_file),
        renderer=Renderer(notes.templates_dir),
        limiter=RateLimiter(burst=notes.rate_burst, every=notes.rate_every, now=clock.now),
        retry=notes.retry,
        read_run=read_run,
    )
    run = Runtime(
        settings=settings,
        clock=clock,
        kube=kube,
        akube=akube,
        config=config,
        correlation=correlation,
        writer=writer,
        executor=executor,
        builds=BuildCache(),
        sla=sla,
        planner=planner,
        sender=sender,
    )
    if _metrics is not None:
        run.metrics = _metrics
    metrics = run.metrics

    def stored(namespace: str, name: str, before: Any, after: Any) -> None:
        company = company_of_namespace(namespace) or "unknown"
        metrics.incident_stored(company=company, before=before, after=after)

    writer.on_stored = stored
    sla.on_late = metrics.scheduler_lag
    sender.on_outcome = lambda channel, state: metrics.notification(channel=channel, outcome=state)
    run.sessions.append(session)
    azure = Azure(settings.azure)
    run.remediator = Remediator(
        run,
        Clouds(aws=aws, azure=azure, kube=kube),
        crash_at=settings.test_crash_at,
        per_company=settings.remediation_runs_per_company,
    )
    writer.gone = lambda namespace, name: correlation.forget(
        company_of_namespace(namespace) or "", name
    )
    try:
        analyst = analysis.analyser(settings.ai)
    except WhispererError as exc:
        log.error("AI analysis is off: %s", exc)
        analyst = None
    if analyst is None:
        log.info("AI analysis is off (no provider or key): the rules decide")
    else:
        run.analysis = Worker(analyst, kube=kube, writer=writer)
        log.info(
            "AI analysis on: %s %s, decides at confidence >= %s, budget %s USD a day",
            settings.ai.provider,
            settings.ai.model,
            settings.ai.min_confidence,
            settings.ai.budget_usd_per_day,
        )
    return run


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Kopf calls this before it starts watching: our settings, the runtime, and memory
    rebuilt from the cluster before anything is decided."""
    global _current
    configure(settings)
    run = build(_settings or Settings.from_env(), clock=_clock or SystemClock())
    if _elector is not None:  # fenced: no write, no message unless this replica still leads
        run.akube.fence = _elector.holds
        run.sender.fence = _elector.holds
    memo.runtime = run
    _current = run
    await activation.activate(run)
    run.metrics.state = "active"


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Stop the loops, let what is in flight finish and write what is queued, then close the
    clients (in that order: nothing may use a closed client)."""
    global _current
    run: Runtime | None = getattr(memo, "runtime", None)
    if run is None:
        return
    await activation.deactivate(run)
    for session in run.sessions:
        await session.close()
    await run.akube.close()
    await asyncio.get_running_loop().run_in_executor(None, run.kube.close)
    if run.remediator is not None:
        run.remediator.close()
    if _current is run:
        _current = None


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """Log in as $KUBECONFIG's user (read now, not when the client library was imported)."""
    conn = load_connection()
    return kopf.ConnectionInfo(
        server=conn.server,
        ca_path=conn.ca_path,
        insecure=conn.insecure,
        scheme=conn.scheme,
        token=conn.token,
        certificate_path=conn.certificate_path,
        private_key_path=conn.private_key_path,
    )


class JsonLines(logging.Formatter):
    """One JSON object per record (time, level, logger, message, error), for log pipelines."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = repr(record.exc_info[1])
        return json.dumps(entry, default=str)


def configure_logging(*, verbose: bool, json_lines: bool = False) -> None:
    """Our lines concise (time, level, logger, message; or one JSON object each); Kopf's
    routine INFO lines (a timer succeeded, a handler finished) only with --verbose."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    if not verbose:
        for noisy in ("kopf", "aiohttp.access", "urllib3", "botocore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


async def _heartbeat(metrics: OperatorMetrics) -> None:
    while True:
        metrics.beat()
        await asyncio.sleep(5)


async def serve(*, liveness: str | None) -> int:
    """Run the operator: at once, or, with leader election, once this replica leads (and
    until it stops leading). 0 after a clean stop; 1 when leadership was lost (the process
    exits and is restarted rather than act on memory another leader is changing)."""
    global _elector
    metrics = _metrics or OperatorMetrics()
    beat = asyncio.get_running_loop().create_task(_heartbeat(metrics))
    settings = _settings or Settings.from_env()
    election = settings.leader_election

    async def lead() -> None:
        metrics.leader(True)
        metrics.state = "leading"
        try:
            await kopf.operator(clusterwide=True, liveness_endpoint=liveness, standalone=True)
        finally:
            metrics.leader(False)

    try:
        if not election.enabled:
            await lead()
            return 0
        kube = KubeClient.from_kubeconfig()
        elector = _elector = LeaderElector.from_settings(kube, election, clock=SystemClock())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # while standing by (Kopf has its own)
            loop.add_signal_handler(sig, elector.stop)
        metrics.state = "standby"
        log.info(
            "standing by for Lease %s/%s as %s (lease %ss)",
            election.namespace,
            election.lease_name,
            elector.identity,
            election.lease_duration,
        )
        worked: list[bool] = []
        failed: list[BaseException] = []

        async def work() -> None:
            try:
                await lead()
            except Exception as exc:  # the elector only sees the work end: say why
                failed.append(exc)
                raise
            worked.append(True)  # Kopf stopped by itself (a signal): a clean stop

        try:
            await elector.run(on_started_leading=work)
        finally:
            _elector = None
            await asyncio.get_running_loop().run_in_executor(None, kube.close)
        if failed:
            log.error("the operator stopped on an error: %r", failed[0])
            return 1
        if elector.stopping or worked:
            return 0
        log.error("%s lost the leader's Lease: exiting so that it restarts", elector.identity)
        return 1
    finally:
        beat.cancel()


def main(argv: list[str] | None = None) -> int:
    """Run the operator until interrupted."""
    global _settings, _metrics
    parser = argparse.ArgumentParser(prog="whisperer-operator", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="debug logging, Kopf's included")
    parser.add_argument(
        "--liveness",
        default=None,
        help="also serve Kopf's liveness probe, e.g. http://0.0.0.0:8081/healthz (only while "
        "this replica leads: probe --metrics-address's /healthz instead)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text (one short line per event) or json (one object per line)",
    )
    parser.add_argument(
        "--metrics-address",
        default=None,
        metavar="HOST:PORT",
        help="serve /metrics, /healthz and /readyz here, e.g. 0.0.0.0:8080",
    )
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose, json_lines=args.log_format == "json")
    try:
        address = parse_address(args.metrics_address) if args.metrics_address else None
    except ValueError as exc:
        parser.error(str(exc))
    try:
        _settings = Settings.from_env()
    except WhispererError as exc:  # a malformed setting: its message names the variable
        parser.exit(2, f"whisperer-operator: {exc}\n")
    metrics = _metrics = OperatorMetrics()
    probes = None
    if address is not None:
        probes = ProbeServer(
            metrics,
            host=address[0],
            port=address[1],
            ready=lambda: metrics.state in ("standby", "active"),
        )
    try:
        return asyncio.run(serve(liveness=args.liveness))
    finally:
        if probes is not None:
            probes.close()


__all__ = [
    "JsonLines",
    "build",
    "clock_for_tests",
    "configure_logging",
    "current",
    "main",
    "serve",
]
