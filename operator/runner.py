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
import logging
from collections.abc import Iterator
from typing import Any

import kopf

import whisperer.operator.handlers  # noqa: F401  (registers the Kopf handlers)
from whisperer.operator import notify
from whisperer.operator.aws import Aws
from whisperer.operator.clock import Clock, SystemClock
from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.handlers import activation
from whisperer.operator.kube import KubeClient, load_connection
from whisperer.operator.kube.aio import AsyncKube
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

    session = notify.make_session(ca_file=notes.ca_file)
    sender = NotificationSender(
        planner=planner,
        writer=writer,
        config=config,
        clock=clock,
        dispatcher=transports.dispatcher(
            session, akube, Aws(settings.aws, clock=clock), ca_file=notes.ca_file
        ),
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
    run.sessions.append(session)
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
    run = build(Settings.from_env(), clock=_clock or SystemClock())
    memo.runtime = run
    _current = run
    await activation.activate(run)


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


def main(argv: list[str] | None = None) -> int:
    """Run the operator until interrupted."""
    parser = argparse.ArgumentParser(prog="whisperer-operator", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--liveness",
        default=None,
        help="serve Kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    asyncio.run(kopf.operator(clusterwide=True, liveness_endpoint=args.liveness, standalone=True))
    return 0


__all__ = ["build", "clock_for_tests", "current", "main"]
