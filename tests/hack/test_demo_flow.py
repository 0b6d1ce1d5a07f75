"""The pieces of `make run` (hack/run) together: the demo SLA policy and company (hack/demo/),
the real shim process, the operator, and `hack/alert-stream` posting every format's example
with current timestamps. Incidents open with SLA deadlines in the future, and the short demo
policy warns and breaches once the operator's clock has moved a few minutes on (a
ManualClock: no real minutes are waited). The summary line hack/run prints says so."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from support.cluster import REPO, Cluster, kubectl_path, wait_for
from support.operator import run_operator
from support.shim import credentials, shim_process

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient

API = ("alertwhisperer.io", "v1alpha1")


def incidents(admin: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return admin.list("incidents", namespace)


def test_the_demo_stream_opens_incidents_whose_short_sla_warns_and_breaches(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    s = uuid.uuid4().hex[:6]
    policy = yaml.safe_load((REPO / "hack/demo/sla-policy.yaml").read_text())
    policy["metadata"]["name"] = f"demo-short-{s}"
    made = subprocess.run(
        [
            sys.executable,
            str(REPO / "hack/demo/company"),
            "--name",
            f"demo-{s}",
            "--policy",
            f"demo-short-{s}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    company = yaml.safe_load(made.stdout)
    name, ns = company["metadata"]["name"], f"company-demo-{s}"
    custom = client.CustomObjectsApi(admin.api_client)
    clock = ManualClock(datetime.now(UTC))
    try:
        admin.create("slapolicies", policy)
        admin.create("companies", company)
        with (
            run_operator(cluster.identity("operator"), clock=clock),
            shim_process(cluster.identity("webhook"), log=tmp_path / "shim.log") as shim,
        ):
            key = credentials(admin, name).current_api_key()
            started = datetime.now(UTC)
            posted = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "hack/alert-stream"),
                    "--url",
                    shim.url,
                    "--key",
                    key,
                    "--interval",
                    "0.1",
                    "--count",
                    "16",
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert posted.returncode == 0 and posted.stderr == "", posted.stderr
            found = wait_for(
                lambda: (
                    (got := incidents(admin, ns))
                    and len(got) >= 5
                    and all((i.get("status") or {}).get("sla") for i in got)
                    and got
                ),
                timeout=60,
                what="the demo's incidents with their SLA clocks",
            )
            for incident in found:
                sla = incident["status"]["sla"]
                assert sla["policy"] == f"demo-short-{s}"
                opened = datetime.fromisoformat(incident["status"]["openedAt"])
                assert opened >= started - timedelta(minutes=15), opened  # fresh, not last week
                assert datetime.fromisoformat(sla["responseDueAt"]) > started  # still ahead
            # Minutes pass on the operator's clock: the demo policy warns, then breaches.
            clock.advance(timedelta(minutes=4))

            def outcomes() -> tuple[int, int] | None:
                clocks = [(i.get("status") or {}).get("sla") or {} for i in incidents(admin, ns)]
                warned = sum(1 for c in clocks if c.get("responseWarnedAt"))
                breached = sum(1 for c in clocks if c.get("responseBreached"))
                return (warned, breached) if warned and breached else None

            warned, breached = wait_for(outcomes, timeout=60, what="warnings and breaches")
            assert warned >= 1 and breached >= 1
            summary = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "hack/demo/summary"),
                    "--kubectl",
                    kubectl_path(),
                    "--namespace",
                    ns,
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
            )
            assert summary.returncode == 0, summary.stderr
            line = re.search(
                r"incidents (\d+) open.*SLA: (\d+) warned, (\d+) breached", summary.stderr
            )
            assert line is not None, summary.stderr
            assert int(line[1]) >= 5 and int(line[2]) >= 1 and int(line[3]) >= 1, summary.stderr
    finally:
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, "companies", name)
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, "slapolicies", f"demo-short-{s}")
