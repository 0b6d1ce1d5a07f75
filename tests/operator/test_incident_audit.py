"""Human actions on an incident reach its timeline and Events once, whatever a tenant does
to the incident's metadata and however often the operator restarts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from support.cluster import Cluster, wait_for
from support.operator import run_operator

from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"
SAM = "sam@northwind-msp.example"


def _timeline(admin: KubeClient, ns: str) -> list[dict[str, Any]]:
    return list(admin.get("incidents", "inc", ns).get("status", {}).get("timeline", []))


@pytest.fixture
def incident(admin: KubeClient, namespace: str) -> Iterator[str]:
    admin.create(
        "incidents",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Incident",
            "metadata": {"name": "inc", "namespace": namespace},
            "spec": {"title": "db01 disk full"},
        },
        namespace,
    )
    yield namespace


def test_acknowledgement_is_recorded_once_across_restarts_and_metadata_edits(
    cluster: Cluster, admin: KubeClient, incident: str
) -> None:
    ns = incident
    api = client.CustomObjectsApi(admin.api_client)
    operator_kubeconfig = cluster.identity("operator")
    with run_operator(operator_kubeconfig):
        api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "incidents",
            "inc",
            {"spec": {"acknowledgement": {"by": SAM, "at": "2026-11-27T10:00:00Z"}}},
        )
        wait_for(
            lambda: [e for e in _timeline(admin, ns) if e["type"] == "Acknowledged"],
            what="the acknowledgement in the timeline",
        )
    # While the operator is down, someone rewrites metadata, including keys that look like
    # Kopf's own state, hoping to make it skip or redo work.
    api.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "incidents",
        "inc",
        {
            "metadata": {
                "annotations": {
                    "kopf.zalando.org/last-handled-configuration": "{}",
                    "kopf.zalando.org/record_actions": '{"started": "2020-01-01"}',
                    "alertwhisperer.io/progress": "reset",
                },
                "labels": {"tampered": "yes"},
            }
        },
    )
    with run_operator(operator_kubeconfig):
        api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "incidents",
            "inc",
            {
                "spec": {
                    "notes": [
                        {
                            "author": SAM,
                            "at": "2026-11-27T10:05:00Z",
                            "text": "cleaning old WAL files",
                        }
                    ]
                }
            },
        )
        wait_for(
            lambda: [e for e in _timeline(admin, ns) if e["type"] == "NoteAdded"],
            what="the note in the timeline",
        )
    timeline = _timeline(admin, ns)
    assert [(e["type"], e["actor"]) for e in timeline] == [
        ("Acknowledged", SAM),
        ("NoteAdded", SAM),
    ]
    assert admin.get("incidents", "inc", ns)["status"]["phase"] == "Acknowledged"
    events = client.CoreV1Api(admin.api_client).list_namespaced_event(
        ns, field_selector="involvedObject.name=inc"
    )
    assert [e.reason for e in events.items if e.reason == "Acknowledged"] == ["Acknowledged"]
    assert all(SAM in e.message for e in events.items if e.reason in ("Acknowledged", "NoteAdded"))


def test_resolution_sets_the_phase(operator: Any, admin: KubeClient, incident: str) -> None:
    ns = incident
    client.CustomObjectsApi(admin.api_client).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "incidents",
        "inc",
        {
            "spec": {
                "resolution": {
                    "by": SAM,
                    "at": "2026-11-27T11:00:00Z",
                    "code": "fixed",
                    "summary": "freed 20 GB",
                }
            }
        },
    )
    wait_for(
        lambda: admin.get("incidents", "inc", ns).get("status", {}).get("phase") == "Resolved",
        what="phase Resolved",
    )
    entry = _timeline(admin, ns)[-1]
    assert (entry["type"], entry["actor"], entry["message"]) == (
        "Resolved",
        SAM,
        "fixed: freed 20 GB",
    )
