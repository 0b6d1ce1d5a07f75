"""Posts to a real HTTP(S) receiver on loopback: accepted, or refused for good (4xx, a
redirect, an unverified certificate) or for now (5xx, 408, 429, timeouts, nothing
listening), with the receiver's Retry-After kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from support.pki import make_test_ca
from support.receiver import Receiver, Reply, receiver
from support.smtp import free_port

from whisperer.operator.errors import DeliveryDeferredError, DeliveryRefusedError
from whisperer.operator.notify import Answer, make_session, post_json, teams_answer_error

NOW = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)
Scenario = Callable[[Receiver], Awaitable[None]]


def run(scenario: Scenario, **kwargs: object) -> Receiver:
    async def main() -> Receiver:
        async with receiver(**kwargs) as got:  # type: ignore[arg-type]
            await scenario(got)
            return got

    return asyncio.run(main())


async def post(url: str, *, time_limit: float = 5, ca_file: str | None = None) -> Answer:
    async with make_session(ca_file=ca_file) as session:
        return await post_json(
            session, url, b'{"text":"hi"}', time_limit=time_limit, now=NOW, what="Slack webhook"
        )


def test_an_accepted_post_sends_the_bytes_as_they_are() -> None:
    async def scenario(got: Receiver) -> None:
        answer = await post(f"{got.url}/services/T000/B000/XXXX")
        assert (answer.status, answer.text) == (200, "ok")

    got = run(scenario)
    (request,) = got.requests
    assert request.body == b'{"text":"hi"}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("alert-whisperer-notify/")


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(400, "invalid_payload"), DeliveryRefusedError, None),
        (Reply(403, "action_prohibited"), DeliveryRefusedError, None),
        (Reply(404, "no_service"), DeliveryRefusedError, None),
        (Reply(410, "channel_is_archived"), DeliveryRefusedError, None),
        (Reply(503, "busy", {"Retry-After": "120"}), DeliveryDeferredError, 120.0),
        (Reply(500, "rollup_error"), DeliveryDeferredError, None),
        (Reply(408, "request timeout"), DeliveryDeferredError, None),
        (
            Reply(
                429, "rate_limited", {"Retry-After": format_datetime(NOW + timedelta(minutes=5))}
            ),
            DeliveryDeferredError,
            300.0,
        ),
        (Reply(302, "", {"Location": "/elsewhere"}), DeliveryRefusedError, None),
    ],
    ids=lambda v: str(v.status) if isinstance(v, Reply) else None,
)
def test_answers_are_classified(
    reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    async def scenario(got: Receiver) -> None:
        got.replies["/hook"] = reply
        with pytest.raises(error) as info:
            await post(f"{got.url}/hook")
        assert getattr(info.value, "code", None) == reply.status
        if isinstance(info.value, DeliveryDeferredError):
            assert info.value.retry_after == retry_after
        # The credential in the URL's path never reaches an error message.
        assert "/hook" not in str(info.value)
        assert str(reply.status) in str(info.value)

    got = run(scenario)
    assert [r.path for r in got.requests] == ["/hook"]  # a redirect is not followed


def test_a_slow_receiver_is_a_temporary_timeout() -> None:
    async def scenario(got: Receiver) -> None:
        got.replies["/slow"] = Reply(delay=2.0)
        with pytest.raises(DeliveryDeferredError, match=r"no answer within 0.2s"):
            await post(f"{got.url}/slow", time_limit=0.2)

    run(scenario)


def test_nothing_listening_is_temporary() -> None:
    with pytest.raises(DeliveryDeferredError, match="connection failed"):
        asyncio.run(post(f"http://127.0.0.1:{free_port()}/hook"))


def test_https_with_a_test_ca(tmp_path: Path) -> None:
    ca, cert, key = make_test_ca(tmp_path)

    async def scenario(got: Receiver) -> None:
        answer = await post(f"{got.url}/hook", ca_file=str(ca))
        assert answer.status == 200
        with pytest.raises(DeliveryRefusedError, match="certificate does not verify"):
            await post(f"{got.url}/hook")  # the system's CAs never signed it

    got = run(scenario, tls=(cert, key))
    assert len(got.requests) == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1", None),
        (
            "Microsoft Teams endpoint returned HTTP error 429 with ContextId ...",
            DeliveryDeferredError,
        ),
        (
            "Webhook message delivery failed with error: "
            "Microsoft Teams endpoint returned HTTP error 413",
            DeliveryRefusedError,
        ),
    ],
)
def test_a_teams_connector_error_inside_a_200(text: str, error: type[Exception] | None) -> None:
    found = teams_answer_error(Answer(200, text), what="Teams webhook noc-teams")
    assert (type(found) if found else None) is error
