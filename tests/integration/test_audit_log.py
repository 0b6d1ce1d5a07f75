"""The API server's audit log (the chart's files/audit-policy.yaml, which hack/cluster starts
the API server with) traces an approval to the user who gave it, with what they wrote; it
keeps Secrets' content out and the operator's status writes out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from support.cluster import Cluster, wait_for

from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"
MSP_ADMIN = "morgan@northwind-msp.example"


def events(log: Path, name: str, start: int) -> list[dict[str, Any]]:
    """Audit events about objects called `name`, written after offset `start`."""
    found = []
    with log.open("rb") as lines:
        lines.seek(start)
        for line in lines:
            if name.encode() in line:
                event = json.loads(line)
                if (event.get("objectRef") or {}).get("name") == name:
                    found.append(event)
    return found


def test_an_approval_is_traced_to_its_user_and_secrets_are_logged_without_content(
    cluster: Cluster, admin: KubeClient, namespace: str
) -> None:
    if cluster.audit_log is None or cluster.kubeconfig_dir is None:
        pytest.skip("the audit log of an existing cluster is not ours to read")
    log = cluster.audit_log
    start = log.stat().st_size  # read only what this test adds
    run = f"run-{uuid.uuid4().hex[:8]}"
    api = client.CustomObjectsApi(admin.api_client)
    api.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "runbookexecutions",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "RunbookExecution",
            "metadata": {"name": run},
            "spec": {
                "runbookRef": {"name": "restart-service"},
                "targets": ["web01"],
                "requestedBy": "sam@northwind-msp.example",
            },
        },
    )
    # What the operator does once it has read the Runbook: the risk goes into status.
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "runbookexecutions", run, {"status": {"risk": "high"}}
    )
    approval = {
        "decision": "Approved",
        "by": MSP_ADMIN,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": "change ticket CHG-1042",
    }
    msp = KubeClient.from_kubeconfig(str(cluster.identity("msp-admin")))
    try:
        client.CustomObjectsApi(msp.api_client).patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "runbookexecutions", run, {"spec": {"approval": approval}}
        )
    finally:
        msp.close()

    def approved() -> dict[str, Any] | None:
        for event in events(log, run, start):
            body = event.get("requestObject") or {}
            if event["verb"] == "patch" and "approval" in body.get("spec", {}):
                return event
        return None

    event = wait_for(approved, timeout=15, what="the approval in the audit log")
    assert event["user"]["username"] == MSP_ADMIN
    assert "alertwhisperer.io:msp-admins" in event["user"]["groups"]
    assert event["level"] == "Request"
    assert event["objectRef"]["namespace"] == namespace
    assert event["requestObject"]["spec"]["approval"] == approval
    assert event["responseStatus"]["code"] == 200
    assert event["annotations"]["authorization.k8s.io/decision"] == "allow"
    # The run's creation is there too (who requested it); its status write is not.
    kinds = {(e["verb"], e["objectRef"].get("subresource", "")) for e in events(log, run, start)}
    assert ("create", "") in kinds
    assert not any(sub == "status" for _, sub in kinds)

    secret = f"s-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(admin.api_client).create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=secret), string_data={"k": "hush"}),
    )
    logged = wait_for(
        lambda: events(log, secret, start), timeout=15, what="the Secret's audit event"
    )
    assert [e["level"] for e in logged] == ["Metadata"]
    assert "requestObject" not in logged[0] and "hush" not in json.dumps(logged)
