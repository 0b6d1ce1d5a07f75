"""A small routing setup on the real API server: a 24x7 SLA policy, a company on it, a rule
for its storage alerts preferring `ana` (who takes one incident at most), and `bo`, who has
the skill too. Names are unique per use; everything is deleted afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from kubernetes import client

from support.alerts import API
from whisperer.operator.kube import KubeClient


@contextlib.contextmanager
def routing_config(admin: KubeClient) -> Iterator[dict[str, str]]:
    """A 24x7 policy, a company on it, a rule for its database alerts preferring `ana` (who
    takes one incident at most), and `bo`, who has the skill too."""
    s = uuid.uuid4().hex[:6]
    names = {
        "company": f"asg-{s}",
        "policy": f"asg-{s}",
        "rule": f"asg-{s}",
        "ana": f"ana-{s}",
        "bo": f"bo-{s}",
    }
    objects: list[tuple[str, dict[str, Any]]] = [
        (
            "slapolicies",
            {
                "metadata": {"name": names["policy"]},
                "kind": "SLAPolicy",
                "spec": {
                    "targets": [
                        {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 240},
                        {"severity": "high", "responseMinutes": 60, "resolutionMinutes": 480},
                    ],
                    "coverage": {"type": "24x7"},
                },
            },
        ),
        (
            "companies",
            {
                "metadata": {"name": names["company"]},
                "kind": "Company",
                "spec": {
                    "displayName": names["company"],
                    "slaPolicyRef": {"name": names["policy"]},
                    "deletionPolicy": "Delete",
                    "assets": [{"name": "db01", "platform": "linux"}, {"name": "db02"}],
                },
            },
        ),
        (
            "routingrules",
            {
                "metadata": {"name": names["rule"]},
                "kind": "RoutingRule",
                "spec": {
                    "order": 0,
                    "match": {"companies": [names["company"]], "signalCategories": ["storage"]},
                    "requiredSkills": ["linux"],
                    "preferredTechnicians": [names["ana"]],
                },
            },
        ),
    ]
    for who, limit in (("ana", 1), ("bo", 5)):
        objects.append(
            (
                "technicians",
                {
                    "metadata": {"name": names[who]},
                    "kind": "Technician",
                    "spec": {
                        "username": f"{names[who]}@msp.example",
                        "displayName": who,
                        "email": f"{names[who]}@msp.example",
                        "skills": ["linux"],
                        "companies": [names["company"]],
                        "maxOpenIncidents": limit,
                    },
                },
            )
        )
    api = client.CustomObjectsApi(admin.api_client)
    try:
        for plural, body in objects:
            admin.create(plural, {"apiVersion": API, **body})
        yield names
    finally:
        for plural, body in reversed(objects):
            with contextlib.suppress(client.ApiException):
                api.delete_cluster_custom_object(
                    "alertwhisperer.io", "v1alpha1", plural, body["metadata"]["name"]
                )
