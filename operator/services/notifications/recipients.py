"""Who is told what, and through which channel: the audience of each kind of message (the
assignee, the company's admins and contacts, escalation targets, approvers), then each
person's channels (a technician's own choice, else the default email channel; SMS only for
critical incidents; quiet hours hold what is not critical), and the rooms that broadcast.

Pure functions of the config and the incident (docs/notifications.md has the table).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from whisperer.operator.models.v1alpha1 import (
    Company,
    MessageKind,
    NotificationChannel,
    Technician,
)
from whisperer.operator.models.v1alpha1.common import EMAIL
from whisperer.operator.models.v1alpha1.sla import EscalationLevel
from whisperer.operator.models.v1alpha1.technician import QuietHours
from whisperer.operator.services.notifications.outbox import OutboxKey
from whisperer.operator.services.routing import available

Medium = Literal["email", "sms", "room"]
_EMAIL = re.compile(EMAIL)
# Contacts told of the resolution: everyone but billing.
RESOLUTION_ROLES = ("primary", "technical", "escalation")


@dataclass(frozen=True)
class Person:
    """Someone to tell; `technician` names their Technician when they are one, whose own
    channel choices and quiet hours then apply."""

    name: str
    role: str
    email: str | None = None
    phone: str | None = None
    technician: str | None = None

    @property
    def id(self) -> str:
        """Who they are, for de-duplication."""
        return f"technician:{self.technician}" if self.technician else (self.email or "").lower()


@dataclass(frozen=True)
class Problem:
    """Somebody could not be reached as configured (shown beside the incident's outbox)."""

    who: str
    message: str


@dataclass(frozen=True)
class Directory:
    """The config recipient resolution reads: channels and technicians by name, and the MSP
    admins' addresses (WHISPERER_NOTIFY_MSP_ADMINS)."""

    channels: Mapping[str, NotificationChannel]
    technicians: Mapping[str, Technician]
    msp_admins: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        channels: Iterable[NotificationChannel],
        technicians: Iterable[Technician],
        msp_admins: Iterable[str] = (),
    ) -> Directory:
        """From lists of objects."""
        return cls(
            {c.metadata.name: c for c in channels},
            {t.metadata.name: t for t in technicians},
            tuple(msp_admins),
        )

    def default(self, medium: Medium) -> str | None:
        """The default channel of a medium (the first by name, should git hold two)."""
        return next(
            (
                name
                for name in sorted(self.channels)
                if self.channels[name].spec.default and self.channels[name].spec.medium == medium
            ),
            None,
        )

    def technician_by_email(self, email: str) -> Technician | None:
        """The technician with this email address or user name."""
        wanted = email.lower()
        return next(
            (
                t
                for _, t in sorted(self.technicians.items())
                if t.spec.email.lower() == wanted or t.spec.username.lower() == wanted
            ),
            None,
        )


@dataclass(frozen=True)
class Subject:
    """The incident a message is about, as recipient resolution sees it."""

    incident: str  # namespace/name
    severity: str
    company: Company
    assignee: str | None = None  # a Technician's name
    episode: int = 0

    @property
    def critical(self) -> bool:
        """Critical incidents may text people and ignore quiet hours."""
        return self.severity == "critical"


@dataclass
class Audience:
    """People to tell, in order, each once, and who could not be reached."""

    people: list[Person] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, person: Person | None) -> None:
        """Add someone not yet in (the first role they came in with stays)."""
        if person is not None and person.id and all(p.id != person.id for p in self.people):
            self.people.append(person)


def _technician(directory: Directory, name: str, role: str) -> Person | None:
    tech = directory.technicians.get(name)
    if tech is None:
        return None
    spec = tech.spec
    return Person(spec.display_name, role, spec.email, spec.phone, tech.metadata.name)


def _by_email(email: str, role: str, subject: Subject, directory: Directory) -> Person:
    """A technician, a contact of the company, or just an address."""
    tech = directory.technician_by_email(email)
    if tech is not None:
        spec = tech.spec
        return Person(spec.display_name, role, spec.email, spec.phone, tech.metadata.name)
    contact = next(
        (c for c in subject.company.spec.contacts if c.email.lower() == email.lower()), None
    )
    if contact is not None:
        return Person(contact.name, role, contact.email, contact.phone)
    return Person(email, role, email)


def _company_admins(subject: Subject, directory: Directory, audience: Audience) -> None:
    """Company admins are user names: a contact with that address, a technician with that
    user name, or the user name itself when it is an address."""
    contacts = {c.email.lower(): c for c in subject.company.spec.contacts}
    for admin in subject.company.spec.admins:
        contact = contacts.get(admin.lower())
        if contact is not None:
            audience.add(Person(contact.name, "company-admin", contact.email, contact.phone))
        elif (tech := directory.technician_by_email(admin)) is not None:
            audience.add(_technician(directory, tech.metadata.name, "company-admin"))
        elif _EMAIL.match(admin):
            audience.add(Person(admin, "company-admin", admin))
        else:
            audience.problems.append(
                Problem(admin, "company admin has no email address: add them as a contact")
            )


def _assignee(subject: Subject, directory: Directory, audience: Audience) -> bool:
    if not subject.assignee:
        return False
    person = _technician(directory, subject.assignee, "assignee")
    if person is None:
        audience.problems.append(Problem(subject.assignee, "assignee is not a Technician"))
        return False
    audience.add(person)
    return True


def level_targets(
    subject: Subject,
    directory: Directory,
    level: EscalationLevel,
    *,
    now: datetime,
    escalation_contacts: Sequence[str] = (),
    audience: Audience | None = None,
) -> Audience:
    """An escalation level's people: its `targets` by role (`assignee`, `on-shift`: every
    technician serving the company who is on shift now, `company-admins`,
    `company-contacts`: the primary, escalation and technical ones, `msp-admins`; a level
    that names none is, at level 1, the assignee and whoever is on shift); the level's
    `notify` addresses; the routing rules' escalation contacts; with
    `notifyCompanyContacts`, the company's admins and its escalation contacts (its primary
    contacts when none is marked escalation)."""
    audience = audience if audience is not None else Audience()
    roles = list(level.targets) or (["assignee", "on-shift"] if level.level == 1 else [])
    company = subject.company.metadata.name
    contacts = subject.company.spec.contacts
    for role in roles:
        if role == "assignee":
            if subject.assignee:
                _assignee(subject, directory, audience)
        elif role == "on-shift":
            for name, tech in sorted(directory.technicians.items()):
                if company in tech.spec.companies and available(tech, now):
                    audience.add(_technician(directory, name, "on-shift"))
        elif role == "company-admins":
            _company_admins(subject, directory, audience)
        elif role == "company-contacts":
            for contact in contacts:
                if contact.role in ("primary", "escalation", "technical"):
                    audience.add(Person(contact.name, "contact", contact.email, contact.phone))
        elif role == "msp-admins":
            for email in directory.msp_admins:
                audience.add(_by_email(email, "msp-admin", subject, directory))
    for email in [*level.notify, *escalation_contacts]:
        audience.add(_by_email(email, "escalation", subject, directory))
    if level.notify_company_contacts:
        _company_admins(subject, directory, audience)
        chosen = [c for c in contacts if c.role == "escalation"] or [
            c for c in contacts if c.role == "primary"
        ]
        for contact in chosen:
            audience.add(Person(contact.name, "contact", contact.email, contact.phone))
    return audience


def assignment_audience(subject: Subject, directory: Directory) -> Audience:
    """The technician it was assigned to."""
    audience = Audience()
    _assignee(subject, directory, audience)
    return audience


def deadline_audience(
    subject: Subject,
    directory: Directory,
    *,
    first_level: EscalationLevel | None,
    now: datetime,
) -> Audience:
    """A warning or a breach: the assignee and the company's admins; with nobody assigned,
    the first escalation level's targets instead of the assignee."""
    audience = Audience()
    if not _assignee(subject, directory, audience) and first_level is not None:
        level_targets(subject, directory, first_level, now=now, audience=audience)
    _company_admins(subject, directory, audience)
    return audience


def approval_audience(
    subject: Subject,
    directory: Directory,
    *,
    risk: str,
    requested_by: str,
    company_admins_may_approve_medium: bool,
) -> Audience:
    """Those who may approve: low and medium risk the company's admins (medium only when the
    company allows it) and the MSP admins, high risk the MSP admins; never the requester."""
    audience = Audience()
    if risk == "low" or (risk == "medium" and company_admins_may_approve_medium):
        _company_admins(subject, directory, audience)
    for email in directory.msp_admins:
        audience.add(_by_email(email, "msp-admin", subject, directory))
    requester = requested_by.lower()
    audience.people = [
        p
        for p in audience.people
        if (p.email or "").lower() != requester
        and not (
            p.technician and directory.technicians[p.technician].spec.username.lower() == requester
        )
    ]
    if not audience.people:
        audience.problems.append(
            Problem(requested_by, f"nobody to ask for approval of a {risk}-risk run")
        )
    return audience


def run_audience(
    subject: Subject,
    directory: Directory,
    *,
    requested_by: str,
    first_level: EscalationLevel | None,
    now: datetime,
) -> Audience:
    """A run failed or healed nothing: the assignee (or, with nobody assigned, the first
    escalation level) and the technician who asked for it."""
    audience = Audience()
    if not _assignee(subject, directory, audience) and first_level is not None:
        level_targets(subject, directory, first_level, now=now, audience=audience)
    if (tech := directory.technician_by_email(requested_by)) is not None:
        audience.add(_technician(directory, tech.metadata.name, "requester"))
    return audience


def resolution_audience(subject: Subject) -> Audience:
    """The company's contacts (billing contacts excepted)."""
    audience = Audience()
    for contact in subject.company.spec.contacts:
        if contact.role in RESOLUTION_ROLES:
            audience.add(Person(contact.name, "contact", contact.email, contact.phone))
    return audience


# --- channels --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One message to write to the outbox: whom, through which channel, from when."""

    key: OutboxKey
    channel: str
    medium: Medium
    address: str  # the email address or phone number; empty for a room
    person: Person | None  # None for a room's broadcast
    not_before: datetime | None = None  # quiet hours


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None when it falls in none."""
    zone = ZoneInfo(quiet.time_zone)
    local = now.astimezone(zone)
    start, end = _clock(quiet.start), _clock(quiet.end)
    today = local.date()
    for day in (today - timedelta(days=1), today):
        begins = datetime.combine(day, start, zone)
        ends = datetime.combine(day + timedelta(days=1) if end <= start else day, end, zone)
        if begins <= local < ends:
            return ends.astimezone(now.tzinfo)
    return None


def _broadcasts(
    kind: MessageKind, subject: Subject, directory: Directory
) -> Iterable[tuple[str, NotificationChannel]]:
    for name, channel in sorted(directory.channels.items()):
        wanted = channel.spec.broadcast
        if wanted is None:
            continue
        if wanted.kinds and kind not in wanted.kinds:
            continue
        if wanted.severities and subject.severity not in wanted.severities:
            continue
        if wanted.companies and subject.company.metadata.name not in wanted.companies:
            continue
        yield name, channel


def deliveries(
    audience: Audience,
    *,
    kind: MessageKind,
    subject: Subject,
    directory: Directory,
    now: datetime,
    level: str = "",
) -> tuple[list[Delivery], list[Problem]]:
    """Each person's channels, plus the rooms that broadcast this message; one delivery
    per (channel, address): a room chosen by three people gets one post."""
    problems = list(audience.problems)
    out: dict[tuple[str, str], Delivery] = {}

    def add(name: str, address: str, person: Person | None, hold: datetime | None) -> None:
        recipient = address or f"#{name}"
        found = out.get((name, recipient))
        if found is None:
            key = OutboxKey(subject.incident, kind, recipient, name, level, subject.episode)
            medium = directory.channels[name].spec.medium
            out[(name, recipient)] = Delivery(key, name, medium, address, person, hold)
        elif found.not_before is not None and (hold is None or hold < found.not_before):
            out[(name, recipient)] = replace(found, not_before=hold)  # the earliest wins

    def reach(person: Person, channels: list[str], hold: datetime | None) -> bool:
        reached = False
        for name in channels:
            medium = directory.channels[name].spec.medium
            if medium == "email" and person.email:
                add(name, person.email, person, hold)
            elif medium == "sms" and subject.critical and person.phone:
                add(name, person.phone, person, hold)
            elif medium == "room":
                add(name, "", person, hold)
            else:
                continue
            reached = True
        return reached

    email_default, sms_default = directory.default("email"), directory.default("sms")
    defaults = [c for c in (email_default, sms_default) if c]
    for person in audience.people:
        tech = directory.technicians.get(person.technician or "")
        hold: datetime | None = None
        chosen: list[str] = []
        if tech is not None:
            for name in tech.spec.notifications.channels:
                if name in directory.channels:
                    chosen.append(name)
                else:
                    problems.append(
                        Problem(
                            person.name, f"chose NotificationChannel {name!r}, which does not exist"
                        )
                    )
            quiet = tech.spec.notifications.quiet_hours
            if quiet is not None and not subject.critical:
                hold = quiet_until(quiet, now)
        # Their own channels first; when none of them can carry this message (only SMS
        # chosen, and the incident is not critical), the defaults.
        if not reach(person, chosen, hold) and not reach(person, defaults, hold):
            why = (
                "no default email channel, and no channel of their own"
                if not email_default
                else "no channel reaches them (no email address?)"
            )
            problems.append(Problem(person.name, why))
    for name, _ in _broadcasts(kind, subject, directory):
        add(name, "", None, None)
    return list(out.values()), problems
