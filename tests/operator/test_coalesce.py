"""The incidents' status writer against the real API server: a burst of changes to one
incident becomes a few patches, every change is stored in order, and a failed write fails
only the changes of its object."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from support.alerts import API

from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.coalesce import StatusCoalescer


def incident(admin: KubeClient, namespace: str, name: str) -> None:
    admin.create(
        "incidents",
        {
            "apiVersion": API,
            "kind": "Incident",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"title": name},
        },
        namespace,
    )


def test_a_burst_of_changes_is_a_few_patches_and_the_last_one_wins(
    admin: KubeClient, namespace: str
) -> None:
    incident(admin, namespace, "burst")
    writer = StatusCoalescer(admin, "incidents", linger=0.05)
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            stored = list(
                pool.map(
                    lambda n: writer.submit(
                        namespace, "burst", {"alerts": {"count": n + 1}, "score": min(n, 100)}
                    ),
                    range(200),
                )
            )
        for done in stored:
            done.result(timeout=30)
        last = writer.submit(namespace, "burst", {"alerts": {"count": 1000}, "priority": "P2"})
        last.result(timeout=30)
    finally:
        writer.close()
    status = admin.get("incidents", "burst", namespace)["status"]
    assert status["alerts"]["count"] == 1000 and status["priority"] == "P2"
    assert writer.submitted == 201
    assert writer.writes <= 20, f"{writer.writes} patches for 201 changes"


def test_a_failed_write_fails_only_its_own_object(admin: KubeClient, namespace: str) -> None:
    incident(admin, namespace, "there")
    writer = StatusCoalescer(admin, "incidents", linger=0.05)
    try:
        good = writer.submit(namespace, "there", {"score": 7})
        bad = writer.submit(namespace, "missing", {"score": 7})
        assert good.result(timeout=30) is None
        with pytest.raises(NotFoundError):
            bad.result(timeout=30)
    finally:
        writer.close()
    assert admin.get("incidents", "there", namespace)["status"]["score"] == 7


def test_a_closed_writer_refuses_new_changes_after_writing_the_queued_ones(
    admin: KubeClient, namespace: str
) -> None:
    incident(admin, namespace, "late")
    writer = StatusCoalescer(admin, "incidents", linger=0.2)
    queued = writer.submit(namespace, "late", {"score": 3})
    writer.close()
    assert queued.result(timeout=1) is None
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(namespace, "late", {"score": 4}).result(timeout=1)
    assert admin.get("incidents", "late", namespace)["status"]["score"] == 3
