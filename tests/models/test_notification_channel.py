"""The NotificationChannel model refuses what one object can say is wrong (the CRD's CEL rules
say the same to the API server), and a Technician's notification choices parse."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from whisperer.operator.models.v1alpha1 import NotificationChannel, Technician


def body(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "NotificationChannel",
        "metadata": {"name": "c"},
        "spec": spec,
    }


SMTP = {"host": "smtp.northwind-msp.example", "from": "noc@northwind-msp.example"}
SLACK = {"urlSecretRef": {"name": "noc-slack", "key": "url"}}


def test_defaults_and_wire_names() -> None:
    channel = NotificationChannel.from_body(body({"type": "smtp", "smtp": SMTP}))
    smtp = channel.spec.smtp
    assert smtp is not None
    assert (smtp.port, smtp.tls, smtp.timeout, smtp.sender) == (
        587,
        "starttls",
        "30s",
        "noc@northwind-msp.example",
    )
    assert channel.to_body()["spec"]["smtp"]["from"] == "noc@northwind-msp.example"
    assert channel.spec.medium == "email"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "smtp"}, "needs exactly the smtp settings object"),
        ({"type": "smtp", "smtp": SMTP, "slack": SLACK}, "not slack"),
        ({"type": "slack", "smtp": SMTP}, "needs exactly the slack settings object"),
        ({"type": "slack", "default": True, "slack": SLACK}, "can be the default"),
        ({"type": "smtp", "smtp": SMTP, "broadcast": {}}, "only a room"),
        (
            {"type": "smtp", "smtp": {**SMTP, "tls": "none", "secretRef": {"name": "s"}}},
            "a login needs tls",
        ),
        ({"type": "smtp", "smtp": {**SMTP, "tls": "ssl"}}, "tls"),
        ({"type": "smtp", "smtp": {**SMTP, "timeout": "soon"}}, "timeout"),
        ({"type": "pager", "smtp": SMTP}, "type"),
        (
            {
                "type": "webhook",
                "webhook": {"url": "ftp://x", "signingSecretRef": {"name": "s", "key": "k"}},
            },
            "url",
        ),
        (
            {"type": "sms", "sms": {"region": "us-east-1", "senderId": "Too-Long-Sender"}},
            "senderId",
        ),
    ],
)
def test_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotificationChannel.from_body(body(spec))


def test_a_technicians_choices_and_quiet_hours() -> None:
    tech = Technician.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "t"},
            "spec": {
                "username": "t@msp.example",
                "displayName": "T",
                "email": "t@msp.example",
                "notifications": {
                    "channels": ["msp-email", "noc-slack"],
                    "quietHours": {"start": "22:00", "end": "07:00", "timeZone": "Europe/Berlin"},
                },
            },
        }
    )
    prefs = tech.spec.notifications
    assert prefs.channels == ["msp-email", "noc-slack"]
    assert prefs.quiet_hours is not None and prefs.quiet_hours.time_zone == "Europe/Berlin"
    plain = Technician.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "u"},
            "spec": {"username": "u@msp.example", "displayName": "U", "email": "u@msp.example"},
        }
    )
    assert plain.spec.notifications.channels == [] and plain.spec.notifications.quiet_hours is None
