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
def mail_company(admin: KubeClient, box: Mailbox) -> Iterator[dict[str, str]]:
    s = uuid.uuid4().hex[:6]
    names = {"company": f"kill-{s}", "tech": f"sam-{s}", "mail": f"mail-{s}"}
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
