"""SLA clocks on the real operator and API server, on a manual clock (no real SLA minute
passes): a business-hours policy across a weekend and a holiday warns, breaches and
escalates level by level at the right covered times; each step once across a restart; an
acknowledgement stops escalation; a wait on the customer moves the deadline; and every
step's message arrives once, by email, at a local SMTP server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from kubernetes import client
from support.alerts import operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.incidents import fire, incident_for, status, z
from support.mailcompany import mail_company
from support.operator import active, run_operator
from support.smtp import Mailbox, smtp_server

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"
BERLIN = ZoneInfo("Europe/Berlin")
OPENED = datetime(2026, 12, 4, 16, 30, tzinfo=BERLIN)  # a Friday, half an hour before closing
HOLIDAY = "2026-12-07"  # the Monday after
SAM = "sam@northwind-msp.example"


def berlin(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=BERLIN)


def sla_config(
    admin: KubeClient, box: Mailbox
) -> contextlib.AbstractContextManager[dict[str, str]]:
    """A business-hours policy (Mon-Fri 09-17 Berlin, a holiday), a company on it with an
    admin and a contact, a technician (Sam) the routing rule assigns, and an SMTP channel."""
    return mail_company(
        admin,
        box,
        prefix="sla",
        policy={
            "targets": [{"severity": "high", "responseMinutes": 60, "resolutionMinutes": 480}],
            "coverage": {
                "type": "BusinessHours",
                "timeZone": "Europe/Berlin",
                "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
                "start": "09:00",
                "end": "17:00",
                "holidays": [{"date": HOLIDAY, "name": "a company holiday"}],
            },
            "warningLeadMinutes": 30,
            "escalationRepeatMinutes": 0,
        },
        company={
            "displayName": "Acme Dental",
            "admins": ["priya@acme-dental.example"],
            "contacts": [
                {"name": "Priya Shah", "email": "priya@acme-dental.example", "role": "primary"}
            ],
        },
        technician={"username": SAM, "email": SAM},
    )


def steps(admin: KubeClient, company: str, name: str) -> list[str]:
    """The SLA steps in the timeline, in order ("SLAWarning", "Escalated: level 1...")."""
    out = []
    for entry in status(admin, company, name).get("timeline") or []:
        if entry["type"] in ("SLAWarning", "SLABreached"):
            out.append(entry["type"])
        elif entry["type"] == "Escalated":
            out.append(f"Escalated {entry['message'].split(':')[0]}")
    return out


def move(clock: ManualClock, to: datetime) -> None:
    """Set the operator's clock and wait until its SLA scheduler has looked at that time
    (so a test that asserts that nothing happened knows the scheduler ran)."""
    clock.set(to.astimezone(UTC))
    runtime = active()
    wait_for(
        lambda: (
            runtime.sla.last_evaluated is not None and runtime.sla.last_evaluated >= clock.now()
        ),
        timeout=30,
        what="the SLA scheduler to look at the new time",
    )


def delivered(admin: KubeClient, company: str, name: str, channel: str, clock: ManualClock) -> None:
    """Wait until every message on `channel` due by the clock's time is sent (a test that
    jumps half an hour on must not overtake them: a message that is no longer news when its
    time comes, a level 1 page once level 2 is reached, is cancelled, not sent)."""
    now = z(clock.now())
    wait_for(
        lambda: (
            not [
                e
                for e in status(admin, company, name).get("notifications") or []
                if e["channel"] == channel and e["state"] == "pending" and e["dueAt"] <= now
            ]
        ),
        timeout=30,
        what=f"the messages due by {now} to be sent",
    )


def subjects(box: Mailbox) -> list[tuple[str, str]]:
    return sorted((r.recipients[0], str(r.message["Subject"])) for r in box.received)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def test_business_hours_warning_breach_and_levels_once_across_a_restart(
    cluster: Cluster, admin: KubeClient, mailbox: Mailbox
) -> None:
    clock = ManualClock(OPENED.astimezone(UTC))
    with sla_config(admin, mailbox) as names:
        company = names["company"]
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            wait_namespace(admin, company)
            name = incident_for(admin, company, fire(admin, company, at=OPENED))
            # 30 covered minutes on Friday, none on the weekend or the holiday Monday, 30 on
            # Tuesday: response due Tuesday 09:30; resolution 480 minutes: Tuesday 16:30.
            sla = wait_for(
                lambda: (
                    (status(admin, company, name).get("sla") or {}).get("responseDueAt")
                    and status(admin, company, name)["sla"]
                ),
                timeout=30,
                what="the deadlines",
            )
            assert sla["responseDueAt"] == z(berlin(8, 9, 30))
            assert sla["resolutionDueAt"] == z(berlin(8, 16, 30))
            assert sla["nextDueAt"] == z(berlin(8, 9, 30))
            assigned = wait_for(
                lambda: [
                    r for r in mailbox.received if "assigned" in str(r.message["Subject"]).lower()
                ],
                timeout=30,
                what="the assignment email",
            )
            assert assigned[0].recipients == ["sam@northwind-msp.example"]

            # The weekend and the holiday: nothing is near yet.
            move(clock, berlin(5, 12))
            move(clock, berlin(7, 16, 59))
            assert steps(admin, company, name) == []

            # Tuesday 09:00, 30 covered minutes before the response deadline: the warning.
            move(clock, berlin(8, 9, 0, 1))
            wait_for(
                lambda: steps(admin, company, name) == ["SLAWarning"],
                timeout=30,
                what="the warning",
            )
            warned = status(admin, company, name)["sla"]["responseWarnedAt"]
            wait_for(
                lambda: (
                    len([s for _, s in subjects(mailbox) if s.startswith("[SLA warning]")]) >= 2
                ),
                timeout=30,
                what="the warning to the assignee and the company admin",
            )

        # A restart between the warning and the breach.
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            move(clock, berlin(8, 9, 15))
            assert steps(admin, company, name) == ["SLAWarning"]
            assert status(admin, company, name)["sla"]["responseWarnedAt"] == warned

            # 09:30: breached; level 1 at the breach (the default ladder).
            move(clock, berlin(8, 9, 30, 1))
            wait_for(
                lambda: (
                    steps(admin, company, name)
                    == ["SLAWarning", "SLABreached", "Escalated level 1"]
                ),
                timeout=30,
                what="the breach and level 1",
            )
            got = status(admin, company, name)
            assert got["sla"]["responseBreached"] is True
            assert got["sla"]["escalationReason"] == "ResponseMissed"
            assert got["escalationLevel"] == 1
            delivered(admin, company, name, names["mail"], clock)
            # 10:00: level 2, 30 minutes after the breach.
            move(clock, berlin(8, 10, 0, 1))
            wait_for(
                lambda: status(admin, company, name).get("escalationLevel") == 2,
                timeout=30,
                what="level 2",
            )
            delivered(admin, company, name, names["mail"], clock)

            # Sam acknowledges: escalation stops (no level 3 at 10:30).
            client.CustomObjectsApi(admin.api_client).patch_namespaced_custom_object(
                GROUP,
                VERSION,
                f"company-{company}",
                "incidents",
                name,
                {"spec": {"acknowledgement": {"by": SAM, "at": z(berlin(8, 10, 5))}}},
            )
            wait_for(
                lambda: (
                    (status(admin, company, name).get("sla") or {}).get("respondedAt")
                    == z(berlin(8, 10, 5))
                ),
                timeout=30,
                what="the response recorded",
            )
            move(clock, berlin(8, 11, 0))
            got = status(admin, company, name)
            assert got["escalationLevel"] == 2
            assert got["sla"]["responseOutcome"] == "breached"
            assert got["sla"]["responseMarginMinutes"] == -35
            assert got["sla"]["nextDueAt"] == z(berlin(8, 16, 30))
        assert steps(admin, company, name) == [
            "SLAWarning",
            "SLABreached",
            "Escalated level 1",
            "Escalated level 2",
        ]
        # Each step's messages were sent once: one outbox entry per (step, recipient), each sent
        # (this test's channel: rooms other tests left in the cluster may broadcast too).
        outbox = [
            e
            for e in status(admin, company, name).get("notifications") or []
            if e["channel"] == names["mail"]
        ]
        ids = [e["id"] for e in outbox]
        assert len(ids) == len(set(ids))
        assert {e["state"] for e in outbox} == {"sent"}, outbox
        sent = [(r.recipients[0], str(r.message["Message-ID"])) for r in mailbox.received]
        assert len(sent) == len(set(sent)) == len(outbox)


def test_a_wait_on_the_customer_moves_the_deadline(
    cluster: Cluster, admin: KubeClient, mailbox: Mailbox
) -> None:
    start = berlin(9, 10)  # a Wednesday
    clock = ManualClock(start.astimezone(UTC))
    with sla_config(admin, mailbox) as names:
        company = names["company"]
        ns = f"company-{company}"
        api = client.CustomObjectsApi(admin.api_client)
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            wait_namespace(admin, company)
            name = incident_for(admin, company, fire(admin, company, at=start))
            wait_for(
                lambda: (status(admin, company, name).get("sla") or {}).get("resolutionDueAt"),
                timeout=30,
                what="the deadlines",
            )
            before = status(admin, company, name)["sla"]["resolutionDueAt"]
            assert before == z(berlin(10, 10))  # 7 hours Wednesday, 1 hour Thursday
            # Sam waits on the customer from 11:00 to 13:30 (two and a half covered hours).
            api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "incidents",
                name,
                {
                    "spec": {
                        "customerWaits": [
                            {
                                "by": SAM,
                                "at": z(berlin(9, 11)),
                                "reason": "needs the admin password",
                            }
                        ]
                    }
                },
            )
            move(clock, berlin(9, 12))
            paused = wait_for(
                lambda: (status(admin, company, name).get("sla") or {}).get("pausedSince"),
                timeout=30,
                what="the pause",
            )
            assert paused == z(berlin(9, 11))
            assert "nextDueAt" not in status(admin, company, name)["sla"]  # the clock stands still
            api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "incidents",
                name,
                {
                    "spec": {
                        "customerWaits": [
                            {
                                "by": SAM,
                                "at": z(berlin(9, 11)),
                                "reason": "needs the admin password",
                                "resumedBy": SAM,
                                "resumedAt": z(berlin(9, 13, 30)),
                            }
                        ]
                    }
                },
            )
            move(clock, berlin(9, 13, 31))
            moved = wait_for(
                lambda: (
                    (s := status(admin, company, name).get("sla") or {}).get("pausedMinutes") == 150
                    and s
                ),
                timeout=30,
                what="the deadline moved",
            )
            assert moved["resolutionDueAt"] == z(berlin(10, 12, 30))
            assert "pausedSince" not in moved
            # The response (the wait was one) ended the response clock, met.
            assert moved["responseOutcome"] == "met"


def test_a_refused_message_fails_for_good_and_is_shown_on_the_incident(
    cluster: Cluster, admin: KubeClient, mailbox: Mailbox
) -> None:
    start = berlin(9, 10)
    clock = ManualClock(start.astimezone(UTC))
    mailbox.answers["sam@northwind-msp.example"] = "550 5.1.1 no such mailbox"
    with sla_config(admin, mailbox) as names:
        company = names["company"]
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            wait_namespace(admin, company)
            name = incident_for(admin, company, fire(admin, company, at=start))
            entry = wait_for(
                lambda: next(
                    (
                        e
                        for e in status(admin, company, name).get("notifications") or []
                        if e["kind"] == "assigned"
                        and e["channel"] == names["mail"]
                        and e["state"] != "pending"
                    ),
                    None,
                ),
                timeout=30,
                what="the assignment attempted",
            )
            assert entry["state"] == "failed" and entry["attempts"] == 1
            assert "550" in entry["lastError"]
            shown = [
                e
                for e in status(admin, company, name).get("timeline") or []
                if e["type"] == "NotificationFailed"
            ]
            assert len(shown) == 1
            assert "sam@northwind-msp.example" in shown[0]["message"]
            assert mailbox.received == []


def test_nobody_to_assign_escalates_at_once(
    cluster: Cluster, admin: KubeClient, mailbox: Mailbox
) -> None:
    """The routing rule's technician does not serve the company: the incident is unassigned,
    escalates at once (NoTechnicianAvailable), and level 2 mails the company's admin 30
    minutes on (the default ladder), each once."""
    start = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    clock = ManualClock(start)
    with mail_company(
        admin,
        mailbox,
        prefix="nobody",
        company={"admins": ["priya@acme-dental.example"]},
        technician={"companies": []},
    ) as names:
        company = names["company"]
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            wait_namespace(admin, company)
            name = incident_for(admin, company, fire(admin, company, at=start))
            got = wait_for(
                lambda: (s := status(admin, company, name)).get("escalationLevel") == 1 and s,
                timeout=30,
                what="the escalation at once",
            )
            assert got.get("assignee") in (None, "")
            assert "Unassigned" in [e["type"] for e in got["timeline"]]
            assert got["sla"]["escalationReason"] == "NoTechnicianAvailable"
            assert steps(admin, company, name) == ["Escalated level 1"]
            move(clock, start + timedelta(minutes=30, seconds=1))
            wait_for(
                lambda: status(admin, company, name).get("escalationLevel") == 2,
                timeout=30,
                what="level 2",
            )
            delivered(admin, company, name, names["mail"], clock)
            to_priya = [s for r, s in subjects(mailbox) if r == "priya@acme-dental.example"]
            assert [s for s in to_priya if s.startswith("[Escalation 2/")], to_priya
            assert len(to_priya) == len(set(to_priya))
        assert steps(admin, company, name) == ["Escalated level 1", "Escalated level 2"]
