"""The `whisperer-operator` entry point: Kopf with our settings, watching the whole cluster.

Kopf's bookkeeping lives in each object's status (`status.operator`), not in annotations:
only the operator may write status (RBAC), so a tenant who edits their own object's
metadata cannot make the operator skip or repeat a step. See docs/decisions.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import kopf

import whisperer.operator.handlers
from whisperer.operator.kube import KubeClient, load_connection
from whisperer.operator.models.v1alpha1 import GROUP
from whisperer.operator.services.gitsync import BuildCache

FINALIZER = f"{GROUP}/finalizer"
FIELD_MANAGER = "alert-whisperer-operator"


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


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Kopf calls this before it starts watching: settings, and the clients handlers use."""
    configure(settings)
    memo.kube = KubeClient.from_kubeconfig()
    memo.gitsource_builds = BuildCache()
    whisperer.operator.handlers.correlation.startup(memo)


@kopf.on.cleanup()
def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Stop the analysis workers and write what is queued, then close the clients made at
    startup (in that order: nothing may use a closed client)."""
    whisperer.operator.handlers.analysis.stop(memo)
    writes = getattr(memo, "incident_writes", None)
    if writes is not None:
        writes.close()
        logging.getLogger(__name__).info(
            "incident status: %d changes written in %d patches", writes.submitted, writes.writes
        )
    kube = getattr(memo, "kube", None)
    if kube is not None:
        kube.close()


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
