"""Who gets what, through which channel, from when: a table over the example MSP's config
(channels, technicians' choices and quiet hours, acme-dental's admins and contacts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.notifications import channels, company, directory, policy, technicians

from whisperer.operator.models.v1alpha1 import MessageKind, NotificationChannel
from whisperer.operator.models.v1alpha1.technician import QuietHours
from whisperer.operator.services.notifications.recipients import (
    Audience,
    Directory,
    Subject,
    approval_audience,
    assignment_audience,
    deadline_audience,
    deliveries,
    level_targets,
    quiet_until,
    resolution_audience,
    run_audience,
)

FRIDAY = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)  # 09:02 in New York: Sam is on shift
NIGHT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 23:00 in New York: Sam's quiet hours
SAM_WAKES = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 07:00 in New York
SAM_PHONE, PRIYA_PHONE = "+16175550199", "+16175550142"
Row = tuple[str, str, datetime | None]


def subject(severity: str = "critical", assignee: str | None = "sam-taylor") -> Subject:
    return Subject("company-acme-dental/inc-1", severity, company(), assignee)


def rows(
    audience: Audience,
    kind: MessageKind,
    s: Subject,
    *,
    now: datetime = FRIDAY,
    where: Directory | None = None,
    level: str = "",
) -> set[Row]:
    found, problems = deliveries(
        audience, kind=kind, subject=s, directory=where or directory(), now=now, level=level
    )
    assert problems == [], problems
    assert all(d.key.level == level and d.key.kind == kind for d in found)
    return {(d.channel, d.key.recipient, d.not_before) for d in found}


LEVELS = {lv.level: lv for lv in policy().spec.escalation}


@pytest.mark.parametrize(
    ("case", "kind", "audience", "severity", "now", "expected"),
    [
        (
            "a critical assignment: Sam's email, SMS and room, and the PSA",
            MessageKind.ASSIGNED,
            lambda s, d: assignment_audience(s, d),
            "critical",
            FRIDAY,
            {
                ("msp-email", "sam@northwind-msp.example", None),
                ("msp-sms", SAM_PHONE, None),
                ("noc-slack", "#noc-slack", None),
                ("psa-webhook", "#psa-webhook", None),
            },
        ),
        (
            "a medium one at night: no SMS, Sam's channels wait for 07:00, the PSA does not",
            MessageKind.ASSIGNED,
            lambda s, d: assignment_audience(s, d),
            "medium",
            NIGHT,
            {
                ("msp-email", "sam@northwind-msp.example", SAM_WAKES),
                ("noc-slack", "#noc-slack", SAM_WAKES),
                ("psa-webhook", "#psa-webhook", None),
            },
        ),
        (
            "a critical one at night: quiet hours do not hold it",
            MessageKind.ASSIGNED,
            lambda s, d: assignment_audience(s, d),
            "critical",
            NIGHT,
            {
                ("msp-email", "sam@northwind-msp.example", None),
                ("msp-sms", SAM_PHONE, None),
                ("noc-slack", "#noc-slack", None),
                ("psa-webhook", "#psa-webhook", None),
            },
        ),
        (
            "a warning: the assignee and the company admin (a contact with a phone)",
            MessageKind.SLA_WARNING,
            lambda s, d: deadline_audience(s, d, first_level=LEVELS[1], now=FRIDAY),
            "critical",
            FRIDAY,
            {
                ("msp-email", "sam@northwind-msp.example", None),
                ("msp-sms", SAM_PHONE, None),
                ("noc-slack", "#noc-slack", None),
                ("msp-email", "priya@acme-dental.example", None),
                ("msp-sms", PRIYA_PHONE, None),
            },
        ),
        (
            "a breach: as the warning, and the rooms that broadcast breaches",
            MessageKind.SLA_BREACH,
            lambda s, d: deadline_audience(s, d, first_level=LEVELS[1], now=FRIDAY),
            "high",
            FRIDAY,
            {
                ("msp-email", "sam@northwind-msp.example", None),
                ("noc-slack", "#noc-slack", None),
                ("msp-email", "priya@acme-dental.example", None),
                ("psa-webhook", "#psa-webhook", None),
            },
        ),
        (
            "a resolution: the company's contacts, and the PSA",
            MessageKind.RESOLVED,
            lambda s, d: resolution_audience(s),
            "medium",
            FRIDAY,
            {
                ("msp-email", "priya@acme-dental.example", None),
                ("msp-email", "tom@acme-dental.example", None),
                ("psa-webhook", "#psa-webhook", None),
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_who_gets_what(
    case: str,
    kind: MessageKind,
    audience: object,
    severity: str,
    now: datetime,
    expected: set[Row],
) -> None:
    s, d = subject(severity), directory()
    assert rows(audience(s, d), kind, s, now=now) == expected  # type: ignore[operator]


def test_a_warning_with_nobody_assigned_goes_to_the_first_level_and_who_is_on_shift() -> None:
    s, d = subject("high", assignee=None), directory()
    audience = deadline_audience(s, d, first_level=LEVELS[1], now=FRIDAY)
    # On shift at 14:02 UTC on a Friday: Sam (New York office hours) and Ana (no shifts);
    # Lee works nights in London.
    assert [(p.name, p.role) for p in audience.people] == [
        ("Ana Silva", "on-shift"),
        ("Sam Taylor", "on-shift"),
        ("duty-lead@northwind-msp.example", "escalation"),
        ("Priya Raman", "company-admin"),
    ]
    assert rows(audience, MessageKind.SLA_WARNING, s) == {
        ("msp-email", "ana@northwind-msp.example", None),
        ("msp-email", "sam@northwind-msp.example", None),
        ("noc-slack", "#noc-slack", None),
        ("msp-email", "duty-lead@northwind-msp.example", None),
        ("msp-email", "priya@acme-dental.example", None),
    }


def test_escalation_level_two_tells_admins_contacts_and_every_escalation_room() -> None:
    s, d = subject("critical"), directory()
    audience = level_targets(
        s, d, LEVELS[2], now=FRIDAY, escalation_contacts=["dba-oncall@northwind-msp.example"]
    )
    assert rows(audience, MessageKind.ESCALATION, s, level="2") == {
        ("msp-email", "service-manager@northwind-msp.example", None),
        ("msp-email", "dba-oncall@northwind-msp.example", None),
        ("msp-email", "priya@acme-dental.example", None),
        ("msp-sms", PRIYA_PHONE, None),
        ("msp-email", "tom@acme-dental.example", None),  # the escalation contact (no phone)
        ("noc-slack", "#noc-slack", None),
        ("noc-teams", "#noc-teams", None),
        ("psa-webhook", "#psa-webhook", None),
    }


@pytest.mark.parametrize(
    ("risk", "requested_by", "allowed", "expected"),
    [
        (
            "medium",
            "sam@northwind-msp.example",
            True,
            ["Priya Raman", "morgan@northwind-msp.example"],
        ),
        ("medium", "sam@northwind-msp.example", False, ["morgan@northwind-msp.example"]),
        ("high", "sam@northwind-msp.example", True, ["morgan@northwind-msp.example"]),
        (
            "low",
            "sam@northwind-msp.example",
            False,
            ["Priya Raman", "morgan@northwind-msp.example"],
        ),
        # Nobody approves their own request.
        ("medium", "priya@acme-dental.example", True, ["morgan@northwind-msp.example"]),
    ],
)
def test_approvals_go_to_those_who_may_approve(
    risk: str, requested_by: str, allowed: bool, expected: list[str]
) -> None:
    audience = approval_audience(
        subject(),
        directory(),
        risk=risk,
        requested_by=requested_by,
        company_admins_may_approve_medium=allowed,
    )
    assert [p.name for p in audience.people] == expected
    assert audience.problems == []


def test_an_approval_nobody_can_give_is_a_problem() -> None:
    audience = approval_audience(
        subject(),
        directory(msp_admins=()),
        risk="high",
        requested_by="sam@northwind-msp.example",
        company_admins_may_approve_medium=True,
    )
    assert audience.people == []
    assert audience.problems[0].message == "nobody to ask for approval of a high-risk run"


def test_a_failed_run_tells_the_assignee_and_the_technician_who_asked() -> None:
    s, d = subject("high"), directory()
    auto = run_audience(
        s, d, requested_by="operator:auto-remediation", first_level=LEVELS[1], now=FRIDAY
    )
    assert [p.name for p in auto.people] == ["Sam Taylor"]
    asked = run_audience(
        s, d, requested_by="lee@northwind-msp.example", first_level=LEVELS[1], now=FRIDAY
    )
    assert [(p.name, p.role) for p in asked.people] == [
        ("Sam Taylor", "assignee"),
        ("Lee Chen", "requester"),
    ]
    # Sam chose noc-slack, Lee noc-teams; noc-slack also broadcasts failed runs: one post.
    assert rows(asked, MessageKind.RUN_FAILED, s, level="run-1") == {
        ("msp-email", "sam@northwind-msp.example", None),
        ("noc-slack", "#noc-slack", None),
        ("msp-email", "lee@northwind-msp.example", None),
        ("noc-teams", "#noc-teams", None),
    }


def test_an_unknown_channel_is_a_problem_and_the_defaults_still_reach_them() -> None:
    techs = technicians()
    sam = techs["sam-taylor"]
    sam.spec.notifications.channels = ["pager-duty-bridge"]
    where = Directory(channels(), techs)
    s = subject("high")
    found, problems = deliveries(
        assignment_audience(s, where),
        kind=MessageKind.ASSIGNED,
        subject=s,
        directory=where,
        now=FRIDAY,
    )
    assert [(p.who, p.message) for p in problems] == [
        ("Sam Taylor", "chose NotificationChannel 'pager-duty-bridge', which does not exist")
    ]
    assert {(d.channel, d.key.recipient) for d in found} == {
        ("msp-email", "sam@northwind-msp.example"),
        ("psa-webhook", "#psa-webhook"),
    }


def test_sms_only_when_critical_and_email_as_the_fallback() -> None:
    techs = technicians()
    techs["sam-taylor"].spec.notifications.channels = ["msp-sms"]
    where = Directory(channels(), techs)
    for severity, expected in (
        ("critical", {("msp-sms", SAM_PHONE)}),
        ("high", {("msp-email", "sam@northwind-msp.example")}),
    ):
        s = subject(severity)
        found, problems = deliveries(
            assignment_audience(s, where),
            kind=MessageKind.RESOLVED,
            subject=s,
            directory=where,
            now=FRIDAY,
        )
        assert problems == []
        assert {(d.channel, d.key.recipient) for d in found if d.person} == expected


def test_without_a_default_email_channel_a_contact_is_a_problem() -> None:
    rooms: dict[str, NotificationChannel] = {
        name: c for name, c in channels().items() if c.spec.medium == "room"
    }
    where = Directory(rooms, technicians())
    s = subject("medium")
    found, problems = deliveries(
        resolution_audience(s), kind=MessageKind.RESOLVED, subject=s, directory=where, now=FRIDAY
    )
    assert {d.channel for d in found} == {"psa-webhook"}
    assert [p.who for p in problems] == ["Priya Raman", "Tom Okafor"]
    assert "no default email channel" in problems[0].message


def test_keys_are_deterministic_and_differ_by_every_part() -> None:
    s, d = subject(), directory()
    first, _ = deliveries(
        assignment_audience(s, d), kind=MessageKind.ASSIGNED, subject=s, directory=d, now=FRIDAY
    )
    again, _ = deliveries(
        assignment_audience(s, d), kind=MessageKind.ASSIGNED, subject=s, directory=d, now=NIGHT
    )
    assert [x.key.id for x in first] == [x.key.id for x in again]
    assert len({x.key.id for x in first}) == len(first)
    reopened = Subject(s.incident, s.severity, s.company, s.assignee, episode=1)
    later, _ = deliveries(
        assignment_audience(reopened, d),
        kind=MessageKind.ASSIGNED,
        subject=reopened,
        directory=d,
        now=FRIDAY,
    )
    assert not {x.key.id for x in first} & {x.key.id for x in later}


@pytest.mark.parametrize(
    ("quiet", "now", "until"),
    [
        # Across midnight, in New York (UTC-5 in November).
        (("22:00", "07:00", "America/New_York"), NIGHT, SAM_WAKES),
        (
            ("22:00", "07:00", "America/New_York"),
            datetime(2026, 11, 28, 11, 59, tzinfo=UTC),
            SAM_WAKES,
        ),
        (("22:00", "07:00", "America/New_York"), datetime(2026, 11, 28, 12, 0, tzinfo=UTC), None),
        (
            ("22:00", "07:00", "America/New_York"),
            datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
            SAM_WAKES,
        ),
        (("22:00", "07:00", "America/New_York"), datetime(2026, 11, 28, 2, 59, tzinfo=UTC), None),
        # Within one day.
        (
            ("12:00", "13:30", "UTC"),
            datetime(2026, 11, 27, 12, 45, tzinfo=UTC),
            datetime(2026, 11, 27, 13, 30, tzinfo=UTC),
        ),
        (("12:00", "13:30", "UTC"), datetime(2026, 11, 27, 13, 30, tzinfo=UTC), None),
        # The night the clocks go back in London (02:00 BST -> 01:00 GMT): 06:00 GMT.
        (
            ("23:00", "06:00", "Europe/London"),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 6, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours(quiet: tuple[str, str, str], now: datetime, until: datetime | None) -> None:
    start, end, zone = quiet
    assert quiet_until(QuietHours(start=start, end=end, time_zone=zone), now) == until
