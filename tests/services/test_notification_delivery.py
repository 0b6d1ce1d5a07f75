"""From an incident to messages on real servers: recipients resolved, outbox entries recorded
once, each rendered for its reader and sent through the production transports to aiosmtpd
(STARTTLS, a login) and a loopback receiver standing in for Slack, Teams and the PSA's
webhook. Exactly one of each; a rerun sends nothing; failures end as the outbox says."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from support.notifications import company, incident, policy, runbook, technicians
from support.pki import make_test_ca
from support.receiver import Receiver, Reply, receiver
from support.smtp import Mailbox, smtp_server

from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import NotFoundError, PermanentError
from whisperer.operator.models.v1alpha1 import MessageKind, NotificationChannel
from whisperer.operator.notify import make_session
from whisperer.operator.services.notifications import outbox
from whisperer.operator.services.notifications.dispatch import (
    Dispatcher,
    SesTransport,
    SmsTransport,
    attempt,
    compose,
)
from whisperer.operator.services.notifications.messages import Assigned, Escalation, Message
from whisperer.operator.services.notifications.outbox import OutboxEntry
from whisperer.operator.services.notifications.ratelimit import RateLimiter
from whisperer.operator.services.notifications.recipients import (
    Directory,
    Subject,
    assignment_audience,
    deliveries,
    level_targets,
)
from whisperer.operator.services.notifications.render import Renderer
from whisperer.operator.services.notifications.retry import RetryPolicy
from whisperer.operator.services.notifications.views import (
    RecipientView,
    chain,
    incident_view,
    runbook_view,
)


def wall() -> datetime:
    """Where a test's clock starts: the wall clock's second, read when the test runs, since
    the reference library checks a webhook's timestamp against the wall clock. (The
    incident's own times are fixed, in November 2026.)"""
    return datetime.now(UTC).replace(microsecond=0)


WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
POLICY = RetryPolicy(attempts=3)


def channel(name: str, spec: dict[str, Any]) -> NotificationChannel:
    return NotificationChannel.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "NotificationChannel",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


@dataclass
class World:
    """The servers, the channels pointing at them, and what the fakes of aws received."""

    box: Mailbox
    http: Receiver
    ca: Path
    directory: Directory
    secrets: dict[str, dict[str, str]]
    texts: list[dict[str, Any]] = field(default_factory=list)
    ses: list[dict[str, Any]] = field(default_factory=list)

    async def read_secret(self, name: str) -> Mapping[str, str]:
        if name not in self.secrets:
            raise NotFoundError(f"secrets {name!r} not found")
        return self.secrets[name]

    def dispatcher(self, session: Any) -> Dispatcher:
        def publish_sms(**kwargs: Any) -> str:
            self.texts.append(kwargs)
            return f"sns-{len(self.texts)}"

        def send_email(**kwargs: Any) -> str:
            if kwargs["to"].endswith("@rejected.example"):
                raise PermanentError("MessageRejected: Email address is not verified.")
            self.ses.append(kwargs)
            return f"ses-{len(self.ses)}"

        return Dispatcher.standard(
            session,
            self.read_secret,
            ca_file=str(self.ca),
            extra={"sms": SmsTransport(publish_sms), "ses": SesTransport(send_email)},
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_test_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def smtp(pki: tuple[Path, Path, Path]) -> Iterator[Mailbox]:
    _, cert, key = pki
    with smtp_server(starttls=(cert, key), users={"noc": "s3cret"}) as box:
        yield box


def directory_for(box: Mailbox, http_url: str) -> Directory:
    chans = [
        channel(
            "msp-email",
            {
                "type": "smtp",
                "default": True,
                "smtp": {
                    "host": box.host,
                    "port": box.port,
                    "from": "noc@northwind-msp.example",
                    "fromName": "Northwind NOC",
                    "tls": "starttls",
                    "secretRef": {"name": "msp-smtp"},
                    "timeout": "5s",
                },
            },
        ),
        channel("msp-sms", {"type": "sms", "default": True, "sms": {"region": "us-east-1"}}),
        channel(
            "noc-slack",
            {
                "type": "slack",
                "slack": {"urlSecretRef": {"name": "noc-slack", "key": "url"}},
                "broadcast": {"kinds": ["escalation"], "severities": ["critical", "high"]},
            },
        ),
        channel(
            "noc-teams",
            {
                "type": "teams",
                "teams": {"urlSecretRef": {"name": "noc-teams", "key": "url"}},
                "broadcast": {"kinds": ["escalation"]},
            },
        ),
        channel(
            "psa-webhook",
            {
                "type": "webhook",
                "webhook": {
                    "url": f"{http_url}/psa/hook",
                    "signingSecretRef": {"name": "psa-webhook", "key": "secret"},
                    "timeout": "2s",
                },
                "broadcast": {"kinds": ["assigned", "escalation"]},
            },
        ),
        channel(
            "msp-ses",
            {
                "type": "ses",
                "ses": {
                    "from": "noc@northwind-msp.example",
                    "fromName": "Northwind NOC",
                    "region": "us-east-1",
                },
            },
        ),
    ]
    return Directory.of(chans, technicians().values(), ["morgan@northwind-msp.example"])


def secrets_for(http_url: str) -> dict[str, dict[str, str]]:
    return {
        "msp-smtp": {"username": "noc", "password": "s3cret"},
        "noc-slack": {"url": f"{http_url}/services/T0/B0/secret"},
        "noc-teams": {"url": f"{http_url}/teams/webhookb2/secret"},
        "psa-webhook": {"secret": WHSEC},
    }


async def send_all(
    world: World,
    wanted: list[tuple[Any, Message]],
    existing: dict[str, OutboxEntry],
    clock: ManualClock,
    *,
    policy_: RetryPolicy = POLICY,
) -> dict[str, OutboxEntry]:
    """What the operator's outbox worker does, in one pass: record what is new, then attempt
    every due entry (entries kept in `existing`, as the Incident would keep them)."""
    renderer = Renderer()
    builders = {d.key.id: (d, build) for d, build in wanted}
    for entry in outbox.new_entries(
        [(d.key, d.not_before) for d, _ in wanted], existing, now=clock.now()
    ):
        existing[entry.id] = entry
    limiter = RateLimiter(burst=10, every=timedelta(seconds=6), now=clock.now)
    async with make_session(ca_file=str(world.ca)) as session:
        dispatcher = world.dispatcher(session)
        for entry in outbox.due(list(existing.values()), now=clock.now()):
            delivery, build = builders[entry.id]
            going = compose(delivery, build=build, renderer=renderer, directory=world.directory)
            existing[entry.id] = await attempt(
                entry,
                going,
                dispatcher=dispatcher,
                limiter=limiter,
                policy=policy_,
                now=clock.now(),
                rng=random.Random(3),
            )
    return existing


def assignment(world: World, severity: str = "critical") -> list[tuple[Any, Any]]:
    acme, techs = company(), technicians()
    view = incident_view(incident(severity=severity), acme, techs)
    subject = Subject(view.id, severity, acme, "sam-taylor")
    found, problems = deliveries(
        assignment_audience(subject, world.directory),
        kind=MessageKind.ASSIGNED,
        subject=subject,
        directory=world.directory,
        now=wall(),
    )
    assert problems == []
    rb = runbook_view(runbook("free-disk-space"), view, acme)

    def build(reader: RecipientView) -> Message:
        return Assigned(view, reader, runbooks=(rb,), reason="preferred by rule 10-databases")

    return [(d, build) for d in found]


def test_one_assignment_reaches_each_channel_once_and_a_rerun_sends_nothing(
    smtp: Mailbox, pki: tuple[Path, Path, Path]
) -> None:
    async def main() -> World:
        async with receiver() as http:
            world = World(smtp, http, pki[0], directory_for(smtp, http.url), secrets_for(http.url))
            clock = ManualClock(wall())
            wanted = assignment(world)
            entries = await send_all(world, wanted, {}, clock)
            assert {e.key.channel: e.state for e in entries.values()} == {
                "msp-email": "sent",
                "msp-sms": "sent",
                "noc-slack": "sent",
                "psa-webhook": "sent",
            }
            # A rerun (a restart, the next alert of the storm) asks for the same messages.
            clock.advance(timedelta(minutes=1))
            again = await send_all(world, assignment(world), dict(entries), clock)
            assert again == entries
            return world

    world = asyncio.run(main())
    mail = world.box.only()
    assert mail.recipients == ["sam@northwind-msp.example"]
    assert world.box.logins == ["noc"]
    assert mail.message["Subject"] == (
        "[CRITICAL P1] Assigned to you: pm-db01 disk space low (/var/lib/postgresql) "
        "(Acme Dental Group)"
    )
    assert mail.message["To"] == "Sam Taylor <sam@northwind-msp.example>"
    html = mail.message.get_body(("html",))
    assert html is not None and "kubectl whisper run free-disk-space" in html.get_content()
    assert [t["phone"] for t in world.texts] == ["+16175550199"]
    assert world.texts[0]["text"].startswith("[CRITICAL P1] Assigned to you")
    (slack,) = world.http.on("/services/T0/B0/secret")
    assert b'"blocks"' in slack.body
    (hook,) = world.http.on("/psa/hook")
    event = Webhook(WHSEC).verify(hook.body, hook.headers)  # the reference implementation
    assert event["type"] == "incident.assigned"
    assert event["data"]["incident"]["name"] == "inc-20261127-0007"
    assert hook.headers["webhook-id"].startswith("msg_assigned-")
    assert world.http.on("/teams/webhookb2/secret") == []  # noc-teams broadcasts escalations only


def escalation(world: World) -> list[tuple[Any, Any]]:
    acme, techs = company(), technicians()
    view = incident_view(incident(), acme, techs)
    subject = Subject(view.id, "critical", acme, "sam-taylor")
    level = next(lv for lv in policy().spec.escalation if lv.level == 2)
    found, _ = deliveries(
        level_targets(subject, world.directory, level, now=wall()),
        kind=MessageKind.ESCALATION,
        subject=subject,
        directory=world.directory,
        now=wall(),
        level="2",
    )

    def build(reader: RecipientView) -> Message:
        return Escalation(
            view,
            reader,
            escalation_level=2,
            due_at=view.response_due_at,
            overdue=timedelta(minutes=61),
            reason="DeadlineMissed",
            chain=chain(policy().spec, current=2),
        )

    return [(d, build) for d in found]


def test_failures_end_as_the_outbox_says(smtp: Mailbox, pki: tuple[Path, Path, Path]) -> None:
    async def main() -> tuple[World, dict[str, OutboxEntry], ManualClock]:
        async with receiver() as http:
            world = World(smtp, http, pki[0], directory_for(smtp, http.url), secrets_for(http.url))
            smtp.answers["service-manager@northwind-msp.example"] = "451 4.3.0 try again later"
            smtp.answers["tom@acme-dental.example"] = "550 5.1.1 no such user"
            http.replies["/teams/webhookb2/secret"] = Reply(400, "Bad payload")
            http.replies["/psa/hook"] = Reply(503, "maintenance", {"Retry-After": "300"})
            del world.secrets["noc-slack"]  # the MSP has not created it yet
            clock = ManualClock(wall())
            entries = await send_all(world, escalation(world), {}, clock)
            by = {(e.key.channel, e.key.recipient): e for e in entries.values()}
            assert by[("msp-email", "priya@acme-dental.example")].state == "sent"
            assert by[("msp-sms", "+16175550142")].state == "sent"
            tom = by[("msp-email", "tom@acme-dental.example")]
            assert (tom.state, tom.attempts) == ("failed", 1)
            assert "550 5.1.1 no such user" in tom.last_error
            manager = by[("msp-email", "service-manager@northwind-msp.example")]
            assert (manager.state, manager.attempts) == ("pending", 1)
            assert "451" in manager.last_error and manager.due_at > clock.now()
            teams = by[("noc-teams", "#noc-teams")]
            assert (teams.state, teams.attempts) == ("failed", 1)
            assert "answered 400" in teams.last_error and "secret" not in teams.last_error
            psa = by[("psa-webhook", "#psa-webhook")]
            assert psa.state == "pending" and psa.due_at == clock.now() + timedelta(seconds=300)
            slack = by[("noc-slack", "#noc-slack")]
            assert slack.state == "pending"
            assert slack.last_error == "Secret alert-whisperer/noc-slack does not exist"
            # The relay recovers, the Secret appears, the PSA is back: the next pass at their
            # due time sends each once; what failed for good stays failed.
            smtp.answers.clear()
            http.replies.clear()
            world.secrets["noc-slack"] = {"url": f"{http.url}/services/T0/B0/secret"}
            clock.advance(timedelta(minutes=6))
            entries = await send_all(world, escalation(world), entries, clock)
            return world, entries, clock

    world, entries, _ = asyncio.run(main())
    states = {(e.key.channel, e.key.recipient): (e.state, e.attempts) for e in entries.values()}
    assert states[("msp-email", "service-manager@northwind-msp.example")] == ("sent", 2)
    assert states[("psa-webhook", "#psa-webhook")] == ("sent", 2)
    assert states[("noc-slack", "#noc-slack")] == ("sent", 2)
    assert states[("msp-email", "tom@acme-dental.example")] == ("failed", 1)
    assert states[("noc-teams", "#noc-teams")] == ("failed", 1)
    got = sorted(r for m in world.box.received for r in m.recipients)
    assert got == ["priya@acme-dental.example", "service-manager@northwind-msp.example"]
    assert len(world.http.on("/psa/hook")) == 2  # the 503, then the one accepted
    assert len(world.http.on("/teams/webhookb2/secret")) == 1  # refused once, never again
    ids = {r.headers["webhook-id"] for r in world.http.on("/psa/hook")}
    assert len(ids) == 1  # the same webhook-id on the retry, as the specification asks


def test_ses_plugs_in_behind_the_same_interface(
    smtp: Mailbox, pki: tuple[Path, Path, Path]
) -> None:
    techs = technicians()
    techs["lee-chen"].spec.notifications.channels = ["msp-ses"]

    async def main() -> tuple[World, dict[str, OutboxEntry]]:
        async with receiver() as http:
            world = World(smtp, http, pki[0], directory_for(smtp, http.url), secrets_for(http.url))
            world.directory = Directory(world.directory.channels, techs, world.directory.msp_admins)
            acme = company()
            view = incident_view(incident(), acme, techs)
            subject = Subject(view.id, "high", acme, "lee-chen")
            found, _ = deliveries(
                assignment_audience(subject, world.directory),
                kind=MessageKind.ASSIGNED,
                subject=subject,
                directory=world.directory,
                now=wall(),
            )
            wanted = [(d, lambda r: Assigned(view, r)) for d in found if d.channel == "msp-ses"]
            return world, await send_all(world, wanted, {}, ManualClock(wall()))

    world, entries = asyncio.run(main())
    (entry,) = entries.values()
    assert (entry.state, entry.receipt) == ("sent", "ses-1")
    (sent,) = world.ses
    assert sent["sender"] == "Northwind NOC <noc@northwind-msp.example>"
    assert sent["to"] == "lee@northwind-msp.example" and sent["region"] == "us-east-1"
    assert "Lee Chen" in sent["text"] and sent["html"].startswith("<!DOCTYPE html>")
    # Lee works in London: the deadline reads in GMT.
    assert "Fri 27 Nov 2026 14:32 GMT" in sent["text"]
    assert world.box.received == []
