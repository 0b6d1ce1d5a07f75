"""Email through a real SMTP server on loopback (aiosmtpd): plain, STARTTLS with a test CA and
a login, implicit TLS; and every failure ends as temporary (retry) or permanent (record)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.pki import make_test_ca, self_signed
from support.smtp import free_port, smtp_server

from whisperer.operator.errors import DeliveryDeferredError, DeliveryRefusedError
from whisperer.operator.notify import Email, SmtpServer, send_email

NOW = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)


def email(to: str = "sam@northwind-msp.example", **changes: object) -> Email:
    base: dict[str, object] = {
        "sender": "noc@northwind-msp.example",
        "sender_name": "Northwind NOC",
        "to": to,
        "to_name": "Sam Taylor",
        "subject": "[CRITICAL P1] Assigned to you: pm-db01 disk space low\r\nBcc: evil@x.example",
        "text": "Plain part: inc-20261127-0007\n",
        "html": "<p>HTML part: inc-20261127-0007</p>",
        "message_id": "assigned-0123456789abcdef01234567",
        "date": NOW,
        "headers": {"X-Alert-Whisperer-Incident": "company-acme-dental/inc-20261127-0007"},
    }
    base.update(changes)
    return Email(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_test_ca(tmp_path_factory.mktemp("pki"))


def test_plain_delivery_is_multipart_with_a_stable_message_id() -> None:
    with smtp_server() as box:
        send_email(SmtpServer(box.host, box.port, tls="none", timeout=5), email())
    got = box.only()
    assert got.sender == "noc@northwind-msp.example"
    assert got.recipients == ["sam@northwind-msp.example"]
    m = got.message
    assert m["From"] == "Northwind NOC <noc@northwind-msp.example>"
    assert m["To"] == "Sam Taylor <sam@northwind-msp.example>"
    assert m["Message-ID"] == "<assigned-0123456789abcdef01234567@northwind-msp.example>"
    assert m["Auto-Submitted"] == "auto-generated"
    assert m["X-Alert-Whisperer-Incident"] == "company-acme-dental/inc-20261127-0007"
    # A subject with a line break stays one header: no injected Bcc.
    assert m["Bcc"] is None
    assert "\n" not in m["Subject"] and m["Subject"].startswith("[CRITICAL P1] Assigned")
    assert m.get_content_type() == "multipart/alternative"
    # CRLF on the wire, as SMTP wants it.
    parts = {p.get_content_type(): p.get_content().replace("\r\n", "\n") for p in m.iter_parts()}
    assert parts["text/plain"] == "Plain part: inc-20261127-0007\n"
    assert "<p>HTML part: inc-20261127-0007</p>" in parts["text/html"]


def test_starttls_with_a_test_ca_and_a_login(pki: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pki
    with smtp_server(starttls=(cert, key), users={"noc": "s3cret"}) as box:
        server = SmtpServer(
            box.host,
            box.port,
            tls="starttls",
            timeout=5,
            username="noc",
            password="s3cret",
            ca_file=str(ca),
        )
        send_email(server, email())
    assert box.logins == ["noc"]
    assert box.only().recipients == ["sam@northwind-msp.example"]


def test_implicit_tls(pki: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pki
    with smtp_server(implicit_tls=(cert, key)) as box:
        send_email(SmtpServer(box.host, box.port, tls="tls", timeout=5, ca_file=str(ca)), email())
    assert box.only().message["Subject"].startswith("[CRITICAL P1]")


def test_a_certificate_the_ca_did_not_sign_is_refused(
    pki: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ca, _, _ = pki
    _, other_cert, other_key = self_signed(tmp_path)
    with smtp_server(starttls=(other_cert, other_key)) as box:
        server = SmtpServer(box.host, box.port, tls="starttls", timeout=5, ca_file=str(ca))
        with pytest.raises(DeliveryRefusedError, match="certificate does not verify"):
            send_email(server, email())
    assert box.received == []


def test_a_wrong_password_is_permanent(pki: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pki
    with smtp_server(starttls=(cert, key), users={"noc": "s3cret"}) as box:
        server = SmtpServer(
            box.host, box.port, timeout=5, username="noc", password="nope", ca_file=str(ca)
        )
        with pytest.raises(DeliveryRefusedError, match="refused the login: 535") as info:
            send_email(server, email())
    assert info.value.code == 535
    assert box.received == []


def test_starttls_asked_but_not_offered_is_permanent() -> None:
    with (
        smtp_server() as box,
        pytest.raises(DeliveryRefusedError, match="does not offer STARTTLS"),
    ):
        send_email(SmtpServer(box.host, box.port, tls="starttls", timeout=5), email())
    assert box.received == []


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ("550 5.1.1 <nobody@acme-dental.example>: user unknown", DeliveryRefusedError, 550),
        ("451 4.7.1 greylisted, try again later", DeliveryDeferredError, 451),
        ("452 4.2.2 mailbox full", DeliveryDeferredError, 452),
        ("553 5.7.1 relaying denied", DeliveryRefusedError, 553),
    ],
)
def test_recipient_refusals_by_code(answer: str, error: type[Exception], code: int) -> None:
    to = "nobody@acme-dental.example"
    with smtp_server() as box:
        box.answers[to] = answer
        with pytest.raises(error) as info:
            send_email(SmtpServer(box.host, box.port, tls="none", timeout=5), email(to))
    assert getattr(info.value, "code", None) == code
    assert answer.split(" ", 1)[1] in str(info.value)
    assert box.received == []


def test_nothing_listening_is_temporary() -> None:
    server = SmtpServer("127.0.0.1", free_port(), tls="none", timeout=2)
    with pytest.raises(DeliveryDeferredError, match="cannot connect"):
        send_email(server, email())


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (a hung relay)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_relay_that_never_answers_is_a_temporary_timeout(silent_server: int) -> None:
    server = SmtpServer("127.0.0.1", silent_server, tls="none", timeout=0.3)
    with pytest.raises(DeliveryDeferredError, match=r"sent no greeting: .*timed out"):
        send_email(server, email())
