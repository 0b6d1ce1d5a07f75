"""Once, and never in the way: outbox keys and transitions, retries with jittered backoff that
give up after N attempts, and per-recipient token buckets on an injected clock."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from support.notifications import channels, samples

from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import (
    DeliveryDeferredError,
    DeliveryRefusedError,
    PermanentError,
    UnavailableError,
)
from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.notifications import outbox
from whisperer.operator.services.notifications.dispatch import Dispatcher, Outgoing, attempt
from whisperer.operator.services.notifications.outbox import OutboxEntry, OutboxKey
from whisperer.operator.services.notifications.ratelimit import RateLimiter
from whisperer.operator.services.notifications.render import Renderer
from whisperer.operator.services.notifications.retry import GiveUp, Retry, RetryPolicy

T0 = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)
POLICY = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=30), attempts=8)


class Fixed(random.Random):
    """A "random" source that always says the same."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def key(**changes: object) -> OutboxKey:
    base: dict[str, object] = {
        "incident": "company-acme-dental/inc-1",
        "kind": MessageKind.SLA_WARNING,
        "recipient": "sam@northwind-msp.example",
        "channel": "msp-email",
        "level": "response",
    }
    base.update(changes)
    return OutboxKey(**base)  # type: ignore[arg-type]


def test_the_key_is_stable_and_every_part_counts() -> None:
    assert key().id == key().id == "sla-warning-" + key().id.split("-", 2)[2]
    assert key(recipient="SAM@northwind-msp.example").id == key().id  # addresses ignore case
    variants = [
        key(incident="company-acme-dental/inc-2"),
        key(kind=MessageKind.SLA_BREACH),
        key(level="resolution"),
        key(recipient="lee@northwind-msp.example"),
        key(channel="msp-ses"),
        key(episode=1),
    ]
    assert len({v.id for v in [key(), *variants]}) == 7
    assert all("." not in v.id and len(v.id) <= 40 for v in variants)


@pytest.mark.parametrize(
    ("attempt_no", "error", "jitter", "expected"),
    [
        (1, DeliveryDeferredError("451"), 0.0, timedelta(seconds=15)),
        (1, DeliveryDeferredError("451"), 1.0, timedelta(seconds=30)),
        (3, DeliveryDeferredError("503"), 0.5, timedelta(seconds=90)),  # 120 s, jittered
        (7, DeliveryDeferredError("timeout"), 1.0, timedelta(minutes=30)),  # capped
        (1, DeliveryDeferredError("429", retry_after=600), 0.0, timedelta(minutes=10)),
        (1, DeliveryDeferredError("429", retry_after=7200), 0.0, timedelta(minutes=30)),
        (2, UnavailableError("API server down"), 1.0, timedelta(seconds=60)),
        (
            8,
            DeliveryDeferredError("451 again"),
            0.5,
            "gave up after 8 attempts; the last: 451 again",
        ),
        (1, DeliveryRefusedError("550 user unknown"), 0.5, "550 user unknown"),
        (1, PermanentError("MessageRejected"), 0.5, "MessageRejected"),
        (1, KeyError("bug"), 0.5, "unexpected error: KeyError: 'bug'"),
    ],
)
def test_retry_decisions(
    attempt_no: int, error: Exception, jitter: float, expected: timedelta | str
) -> None:
    decision = POLICY.decide(attempt=attempt_no, error=error, now=T0, rng=Fixed(jitter))
    if isinstance(expected, str):
        assert decision == GiveUp(expected)
    else:
        assert decision == Retry(at=T0 + expected, delay=expected)


def test_jitter_spreads_retries_between_half_and_all_of_the_backoff() -> None:
    rng = random.Random(7)
    delays = {
        POLICY.decide(attempt=4, error=DeliveryDeferredError("x"), now=T0, rng=rng).delay  # type: ignore[union-attr]
        for _ in range(200)
    }
    assert len(delays) > 150
    assert min(delays) >= timedelta(seconds=120) and max(delays) <= timedelta(seconds=240)


def test_an_entry_through_retries_to_a_permanent_failure() -> None:
    policy = RetryPolicy(first=timedelta(seconds=10), attempts=3)
    clock = ManualClock(T0)
    entry = outbox.record(key(), now=clock.now())
    rng = random.Random(1)
    for n in (1, 2):
        entry = outbox.failed(
            entry, DeliveryDeferredError(f"451 try {n}"), policy=policy, now=clock.now(), rng=rng
        )
        assert (entry.state, entry.attempts, entry.last_error) == ("pending", n, f"451 try {n}")
        assert outbox.due([entry], now=clock.now()) == []
        clock.set(entry.due_at)
        assert outbox.due([entry], now=clock.now()) == [entry]
    entry = outbox.failed(
        entry, DeliveryDeferredError("451 try 3"), policy=policy, now=clock.now(), rng=rng
    )
    assert (entry.state, entry.attempts) == ("failed", 3)
    assert entry.last_error == "gave up after 3 attempts; the last: 451 try 3"
    assert outbox.due([entry], now=clock.now() + timedelta(days=1)) == []


def test_a_message_is_recorded_once_whatever_asks_for_it_again() -> None:
    held = T0 + timedelta(hours=8)
    wanted = [
        (key(), None),
        (key(channel="noc-slack", recipient="#noc-slack"), held),
        (key(), None),
    ]
    first = outbox.new_entries(wanted, {}, now=T0)
    assert [(e.key.channel, e.due_at) for e in first] == [("msp-email", T0), ("noc-slack", held)]
    sent = outbox.sent(first[0], now=T0, receipt="250 OK")
    existing = {e.id: e for e in [sent, first[1]]}
    # A rerun (a restart, the next alert of a storm) wants the same messages: nothing new.
    assert outbox.new_entries(wanted * 1000, existing, now=T0 + timedelta(minutes=5)) == []
    assert outbox.due(list(existing.values()), now=T0 + timedelta(hours=9)) == [first[1]]


def test_the_status_form_round_trips() -> None:
    entry = outbox.failed(
        outbox.record(key(episode=2), now=T0),
        DeliveryDeferredError("503 busy", retry_after=60),
        policy=POLICY,
        now=T0,
        rng=Fixed(0.0),
    )
    body = entry.as_status()
    assert body["dueAt"] == "2026-11-27T14:03:00Z" and body["attempts"] == 1
    assert OutboxEntry.from_status("company-acme-dental/inc-1", body) == entry
    done = outbox.sent(entry, now=T0 + timedelta(minutes=1), receipt="HTTP 200")
    assert OutboxEntry.from_status("company-acme-dental/inc-1", done.as_status()) == done


def test_a_token_bucket_per_recipient() -> None:
    clock = ManualClock(T0)
    limiter = RateLimiter(burst=3, every=timedelta(seconds=60), now=clock.now)
    assert [limiter.take("sam") for _ in range(3)] == [timedelta(0)] * 3
    assert limiter.take("sam") == timedelta(seconds=60)
    assert limiter.take("lee") == timedelta(0)  # another recipient has its own bucket
    clock.advance(timedelta(seconds=30))
    assert limiter.take("sam") == timedelta(seconds=30)  # nothing taken while waiting
    clock.advance(timedelta(seconds=30))
    assert limiter.take("sam") == timedelta(0)
    assert limiter.take("sam") == timedelta(seconds=60)
    clock.advance(timedelta(hours=1))
    assert [limiter.take("sam") for _ in range(4)][-1] == timedelta(seconds=60)  # burst of 3


def test_idle_buckets_are_forgotten() -> None:
    clock = ManualClock(T0)
    limiter = RateLimiter(burst=2, every=timedelta(seconds=10), now=clock.now, max_keys=100)
    for n in range(100):
        limiter.take(f"r{n}")
    clock.advance(timedelta(seconds=20))  # every bucket is full again
    limiter.take("busy")
    limiter.take("busy")
    assert len(limiter) == 1  # only the busy one is remembered


class Scripted:
    """A transport that answers from a script (a fake of our own protocol)."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def send(self, outgoing: Outgoing, *, now: datetime) -> str:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_an_attempt_waits_for_the_rate_limit_then_retries_then_sends() -> None:
    message = samples()[1]
    slack = Scripted(DeliveryDeferredError("503", retry_after=45), "HTTP 200")
    dispatcher = Dispatcher({"slack": slack})
    clock = ManualClock(T0)
    limiter = RateLimiter(burst=1, every=timedelta(minutes=1), now=clock.now)
    k = key(channel="noc-slack", recipient="#noc-slack")
    going = Outgoing(k, channels()["noc-slack"], "", "", message, Renderer().render(message))

    async def step(entry: OutboxEntry) -> OutboxEntry:
        return await attempt(
            entry,
            going,
            dispatcher=dispatcher,
            limiter=limiter,
            policy=POLICY,
            now=clock.now(),
            rng=Fixed(0.0),
        )

    limiter.take("#noc-slack")  # the room just had a message
    entry = asyncio.run(step(outbox.record(k, now=T0)))
    assert (entry.state, entry.attempts, entry.due_at, slack.calls) == (
        "pending",
        0,
        T0 + timedelta(minutes=1),
        0,
    )
    clock.set(entry.due_at)
    entry = asyncio.run(step(entry))
    assert (entry.state, entry.attempts, slack.calls) == ("pending", 1, 1)
    assert entry.due_at == clock.now() + timedelta(seconds=45)  # the receiver's Retry-After
    clock.set(entry.due_at + timedelta(minutes=1))
    entry = asyncio.run(step(entry))
    assert (entry.state, entry.attempts, entry.receipt, slack.calls) == ("sent", 2, "HTTP 200", 2)


def test_a_channel_type_without_a_transport_is_refused_for_good() -> None:
    message = samples()[0]
    going = Outgoing(
        key(), channels()["msp-sms"], "+16175550199", "Sam", message, Renderer().render(message)
    )
    with pytest.raises(DeliveryRefusedError, match="sms channels cannot send from this operator"):
        asyncio.run(Dispatcher({}).send(going, now=T0))
