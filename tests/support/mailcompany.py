"""A company that mails its technician through a local SMTP server (aiosmtpd), with its SLA
policy, routing rule and technician: for tests that kill or fail over the operator while
a message is in flight."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from kubernetes import client

from support.alerts import API
from support.smtp import Mailbox
from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"


@contextlib.contextmanager
def mail_company(
    admin: KubeClient,
    box: Mailbox,
    *,
    prefix: str = "kill",
    policy: dict[str, Any] | None = None,
    company: dict[str, Any] | None = None,
    technician: dict[str, Any] | None = None,
) -> Iterator[dict[str, str]]:
    """The channel, the SLA policy (24x7 on the seed's targets unless `policy` is its spec),
    the company (with `company`'s spec fields), the routing rule and the technician (with
    `technician`'s spec fields); their names, by role; everything deleted afterwards."""
    s = uuid.uuid4().hex[:6]
    names = {
        "company": f"{prefix}-{s}",
        "policy": f"{prefix}-{s}",
        "tech": f"sam-{s}",
        "mail": f"mail-{s}",
    }
    objects: list[tuple[str, dict[str, Any]]] = [
        (
            "notificationchannels",
            {
                "kind": "NotificationChannel",
                "metadata": {"name": names["mail"]},
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
                "metadata": {"name": names["policy"]},
                "spec": policy or {"coverage": {"type": "24x7"}},
            },
        ),
        (
            "companies",
            {
                "kind": "Company",
                "metadata": {"name": names["company"]},
                "spec": {
                    "displayName": "Kill Test Dental",
                    "slaPolicyRef": {"name": names["policy"]},
                    "deletionPolicy": "Delete",
                    "assets": [{"name": "db01", "platform": "linux"}],
                    **(company or {}),
                },
            },
        ),
        (
            "routingrules",
            {
                "kind": "RoutingRule",
                "metadata": {"name": names["company"]},
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
                    **(technician or {}),
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
