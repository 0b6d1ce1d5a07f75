"""The pieces of `make run` (hack/run) together: the demo SLA policy, company and mail channel
(hack/demo/), the demo's mail server (`hack/demo/mail-sink`), the real shim process, the
operator, and `hack/alert-stream` posting every format's example with current timestamps.
Incidents open with SLA deadlines in the future, the short demo policy warns and breaches
once the operator's clock has moved a few minutes on (a ManualClock: no real minutes are
waited), its messages land as .eml files, and the summary line hack/run prints says so."""

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
from support.smtp import free_port

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
    channel = yaml.safe_load((REPO / "hack/demo/mail-channel.yaml").read_text())
    channel["metadata"]["name"] = f"a-demo-mail-{s}"
    smtp_port, mail = free_port(), tmp_path / "mail"
    channel["spec"]["smtp"]["port"] = smtp_port
    custom = client.CustomObjectsApi(admin.api_client)
    clock = ManualClock(datetime.now(UTC))
    with (tmp_path / "mail-sink.log").open("w") as sink_log:
        sink = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "hack/demo/mail-sink"),
                "--port",
                str(smtp_port),
                "--dir",
                str(mail),
            ],
            stderr=sink_log,
        )
    try:
        admin.create("notificationchannels", channel)
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
            # The escalations and warnings went to the demo's mail server, one file each.
            files = wait_for(
                lambda: sorted(mail.glob("*.eml")) or None, timeout=60, what="the demo's mail"
            )
            subjects = [f.read_text().split("Subject: ", 1)[-1].split("\n", 1)[0] for f in files]
            assert any("Escalation" in x or "SLA" in x for x in subjects), subjects
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, "notificationchannels", f"a-demo-mail-{s}")
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, "companies", name)
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, "slapolicies", f"demo-short-{s}")
