"""An operator killed (SIGKILL) in the middle of sending a message sends it once after the
restart: the outbox entry (the intent) was stored before the send, the mail relay never
accepted the interrupted message, and the new operator finds the entry pending and sends
it, once. The operator runs as its own process (`whisperer-operator`) with its own
ServiceAccount's token, against the real API server and a local SMTP server that holds the
first message at RCPT until the test has killed the sender."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from support.alerts import operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.incidents import fire, incident_for, sent_entry, status
from support.mailcompany import mail_company
from support.operator import operator_process
from support.smtp import smtp_server

from whisperer.operator.kube import KubeClient


def test_a_message_interrupted_by_a_kill_is_sent_once_after_the_restart(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    kubeconfig = operator_kubeconfig(cluster)
    log = tmp_path / "operator.log"
    with smtp_server() as box:
        box.gate = threading.Event()
        with mail_company(admin, box) as names:
            company = names["company"]
            address = f"{names['tech']}@northwind-msp.example"
            with operator_process(kubeconfig, log) as first:
                wait_namespace(admin, company)
                name = incident_for(admin, company, fire(admin, company, at=datetime.now(UTC)))
                assert box.held.wait(60), log.read_text()[-3000:]
                # The intent is stored; the relay holds the message at RCPT: kill the sender.
                outbox = status(admin, company, name).get("notifications") or []
                assigned = [
                    e for e in outbox if e["kind"] == "assigned" and e["channel"] == names["mail"]
                ]
                assert [(e["recipient"], e["state"], e["attempts"]) for e in assigned] == [
                    (address, "pending", 0)
                ]
                first.kill()
                first.wait(timeout=30)
            box.gate.set()  # the dead session's RCPT answers into nothing
            assert box.received == []
            with operator_process(kubeconfig, log):
                entry = sent_entry(admin, company, name, channel=names["mail"])
                assert entry["attempts"] == 1
                # Nothing more goes out while the new operator keeps running.
                wait_for(lambda: len(box.received) >= 1, timeout=10, what="the mail")
            [mail] = box.received
            assert mail.recipients == [address]
            assert entry["id"] in str(mail.message["Message-ID"])
