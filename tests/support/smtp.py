"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, answers chosen
recipients with chosen codes, and can offer STARTTLS, implicit TLS and AUTH."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One accepted message: envelope and parsed content."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Mailbox:
    """What the server accepted, and how it answers."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # recipient -> "550 ..." reply
    logins: list[str] = field(default_factory=list)
    gate: threading.Event | None = None
    """While set to an unset Event, every RCPT waits for it (`held` says one arrived): a
    sender caught in the middle of a message, for kill tests."""
    held: threading.Event = field(default_factory=threading.Event)

    def only(self) -> Received:
        """The one message received (fails when there is not exactly one)."""
        assert len(self.received) == 1, [r.recipients for r in self.received]
        return self.received[0]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        gate = self.box.gate
        if gate is not None and not gate.is_set():
            self.box.held.set()
            await asyncio.to_thread(gate.wait)
        answer = self.box.answers.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed, raw)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@contextlib.contextmanager
def smtp_server(
    *,
    starttls: tuple[Path, Path] | None = None,
    implicit_tls: tuple[Path, Path] | None = None,
    users: dict[str, str] | None = None,
) -> Iterator[Mailbox]:
    """Serve on 127.0.0.1: plain, with STARTTLS (cert, key) required, or TLS from the first
    byte; with `users`, AUTH is required and checked against them."""
    box = Mailbox("127.0.0.1", free_port())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if users and users.get(user) == password:
                box.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    kwargs: dict[str, Any] = {}
    if starttls is not None:
        kwargs.update(tls_context=_context(*starttls), require_starttls=True)
    if users is not None:
        kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=True)
    controller = Controller(
        _Handler(box),
        hostname=box.host,
        port=box.port,
        ssl_context=_context(*implicit_tls) if implicit_tls else None,
        server_hostname="localhost",
        ready_timeout=10,
        **kwargs,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
