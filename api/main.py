"""The `whisperer-webhook` entry point: build the shim's state and serve it with uvicorn."""

from __future__ import annotations

import argparse
import os
import ssl
from pathlib import Path

import uvicorn

from whisperer.api.app import create_app
from whisperer.api.fetch import https_getter
from whisperer.api.ingest import Ingestor
from whisperer.api.logs import configure as configure_logging
from whisperer.api.metrics import Metrics
from whisperer.api.registry import Registry
from whisperer.api.state import Settings, ShimState
from whisperer.api.tls import ReloadingTLS, TLSConfig
from whisperer.api.writer import AlertWriter
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube


def build_state(kubeconfig: str | None, settings: Settings) -> ShimState:
    """Clients, registry, writer and metrics for one shim process."""
    kube = KubeClient.from_kubeconfig(kubeconfig)
    akube = AsyncKube.from_kubeconfig(kubeconfig, timeout=settings.write_timeout)
    metrics = Metrics()

    def on_write(folded: int) -> None:
        metrics.api_writes.inc()
        metrics.batch_size.observe(folded)

    writer = AlertWriter(
        akube,
        on_write=on_write,
        hot_linger=settings.hot_linger,
        max_linger=settings.max_linger,
        budget=settings.commit_budget,
    )
    registry = Registry(kube, refresh_seconds=settings.registry_refresh)
    tls = None
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise ValueError("TLS needs both a certificate and a key file")
        tls = ReloadingTLS(Path(settings.tls_cert), Path(settings.tls_key))
    return ShimState(
        tls=tls,
        settings=settings,
        kube=kube,
        akube=akube,
        registry=registry,
        ingestor=Ingestor(
            writer,
            metrics,
            timeout=settings.write_timeout,
            taxonomy=lambda: registry.taxonomy,
        ),
        metrics=metrics,
        # One TLS context for the process: loading the system's CA bundle per request blocked
        # the event loop and, under the fuzzer, crashed the process mid-load.
        fetch=https_getter(),
    )


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(prog="whisperer-webhook", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig (default: $KUBECONFIG or the pod's service account)",
    )
    parser.add_argument(
        "--write-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the API server before answering 503",
    )
    parser.add_argument(
        "--hot-linger",
        type=float,
        default=float(os.environ.get("WHISPERER_WEBHOOK_HOT_LINGER") or 0.1),
        help="seconds a storming alert first gathers reports between writes",
    )
    parser.add_argument(
        "--max-linger",
        type=float,
        default=float(os.environ.get("WHISPERER_WEBHOOK_MAX_LINGER") or 0.5),
        help="the longest that window grows to (an answer waits at most this + one write)",
    )
    parser.add_argument(
        "--tls-cert",
        default=os.environ.get("WHISPERER_WEBHOOK_TLS_CERT") or None,
        help="serve https with this PEM certificate (chain), reloaded when it changes",
    )
    parser.add_argument(
        "--tls-key",
        default=os.environ.get("WHISPERER_WEBHOOK_TLS_KEY") or None,
        help="the PEM private key of --tls-cert",
    )
    parser.add_argument(
        "--tls-reload-seconds",
        type=float,
        default=float(os.environ.get("WHISPERER_WEBHOOK_TLS_RELOAD_SECONDS") or 10),
        help="how often to check the TLS files for a change",
    )
    parser.add_argument("--log-level", default=os.environ.get("WHISPERER_LOG_LEVEL", "info"))
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    settings = Settings(
        write_timeout=args.write_timeout,
        hot_linger=args.hot_linger,
        max_linger=args.max_linger,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_reload_seconds=args.tls_reload_seconds,
    )
    try:
        state = build_state(args.kubeconfig, settings)
    except (OSError, ssl.SSLError, ValueError) as exc:
        parser.error(f"cannot serve TLS: {exc}")
    uvicorn.Server(
        TLSConfig(
            create_app(state),
            tls=state.tls,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,
        )
    ).run()
    return 0
