"""An operator killed (SIGKILL) in the middle of sending a message sends it once after the
restart: the outbox entry (the intent) was stored before the send, the mail relay never
accepted the interrupted message, and the new operator finds the entry pending and sends
it, once. The operator runs as its own process (`whisperer-operator`) with its own
ServiceAccount's token, against the real API server and a local SMTP server that holds the
first message at RCPT until the test has killed the sender."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client
from support.alerts import API, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.incidents import fire, incident_for, status
from support.smtp import Mailbox, smtp_server

from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"


@contextlib.contextmanager
def operator_process(kubeconfig: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONSAFEPATH": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("whisperer-operator"))],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def config(admin: KubeClient, box: Mailbox) -> Iterator[dict[str, str]]:
    s = uuid.uuid4().hex[:6]
    names = {"company": f"kill-{s}", "tech": f"sam-{s}"}
    objects: list[tuple[str, dict[str, Any]]] = [
        (
            "notificationchannels",
            {
                "kind": "NotificationChannel",
                "metadata": {"name": f"mail-{s}"},
                "spec": {
                    "type": "smtp",
                    "default": True,
                    "smtp": {
                        "host": box.host,
                        "port": box.port,
                        "from": "noc@northwind-msp.example",
                        "tls": "none",
                    },
                },
            },
        ),
        (
            "slapolicies",
            {
                "kind": "SLAPolicy",
                "metadata": {"name": f"kill-{s}"},
                "spec": {"coverage": {"type": "24x7"}},  # the seed's targets
            },
        ),
        (
            "companies",
            {
                "kind": "Company",
                "metadata": {"name": names["company"]},
                "spec": {
                    "displayName": "Kill Test Dental",
                    "slaPolicyRef": {"name": f"kill-{s}"},
                    "deletionPolicy": "Delete",
                    "assets": [{"name": "db01", "platform": "linux"}],
                },
            },
        ),
        (
            "routingrules",
            {
                "kind": "RoutingRule",
                "metadata": {"name": f"kill-{s}"},
                "spec": {
                    "order": 0,
                    "match": {"companies": [names["company"]]},
                    "preferredTechnicians": [names["tech"]],
                },
            },
        ),
        (
            "technicians",
            {
                "kind": "Technician",
                "metadata": {"name": names["tech"]},
                "spec": {
                    "username": f"{names['tech']}@northwind-msp.example",
                    "displayName": "Sam Rivera",
                    "email": f"{names['tech']}@northwind-msp.example",
                    "companies": [names["company"]],
                },
            },
        ),
    ]
    api = client.CustomObjectsApi(admin.api_client)
    try:
        for plural, body in objects:
            admin.create(plural, {"apiVersion": API, **body})
        yield names
    finally:
        for plural, body in reversed(objects):
            with contextlib.suppress(client.ApiException):
                api.delete_cluster_custom_object(GROUP, VERSION, plural, body["metadata"]["name"])


def test_a_message_interrupted_by_a_kill_is_sent_once_after_the_restart(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    kubeconfig = operator_kubeconfig(cluster)
    log = tmp_path / "operator.log"
    with smtp_server() as box:
        box.gate = threading.Event()
        with config(admin, box) as names:
            company = names["company"]
            address = f"{names['tech']}@northwind-msp.example"
            with operator_process(kubeconfig, log) as first:
                wait_namespace(admin, company)
                name = incident_for(admin, company, fire(admin, company, at=datetime.now(UTC)))
                assert box.held.wait(60), log.read_text()[-3000:]
                # The intent is stored; the relay holds the message at RCPT: kill the sender.
                outbox = status(admin, company, name).get("notifications") or []
                assigned = [e for e in outbox if e["kind"] == "assigned"]
                assert [(e["recipient"], e["state"], e["attempts"]) for e in assigned] == [
                    (address, "pending", 0)
                ]
                first.kill()
                first.wait(timeout=30)
            box.gate.set()  # the dead session's RCPT answers into nothing
            assert box.received == []
            with operator_process(kubeconfig, log):
                entry = wait_for(
                    lambda: next(
                        (
                            e
                            for e in status(admin, company, name).get("notifications") or []
                            if e["kind"] == "assigned" and e["state"] == "sent"
                        ),
                        None,
                    ),
                    timeout=60,
                    what="the assignment sent after the restart",
                )
                assert entry["attempts"] == 1
                # Nothing more goes out while the new operator keeps running.
                wait_for(lambda: len(box.received) >= 1, timeout=10, what="the mail")
            [mail] = box.received
            assert mail.recipients == [address]
            assert entry["id"] in str(mail.message["Message-ID"])
