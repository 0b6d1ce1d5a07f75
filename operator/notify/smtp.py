"""Email over SMTP with the standard library's smtplib: the one place that speaks SMTP, and
the one place its failures are sorted into "retry later" (4xx, connection errors, timeouts)
and "refused for good" (5xx, a certificate that does not verify, a server without the TLS
we were told to use)."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from whisperer.operator.errors import DeliveryDeferredError, DeliveryRefusedError

TlsMode = Literal["none", "starttls", "tls"]
# Lines up to RFC 5322's hard limit: a subject is not folded right after "Subject:".
POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect: the relay, its TLS mode, an optional login, a timeout."""

    host: str
    port: int
    tls: TlsMode = "starttls"
    timeout: float = 30.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # trusted besides the system's CAs (a private relay's CA)
    local_hostname: str | None = None  # what EHLO says; the machine's name by default


@dataclass(frozen=True)
class Email:
    """One message to one recipient, in its text and (optional) HTML forms."""

    sender: str
    to: str
    subject: str
    text: str
    html: str | None
    message_id: str  # a stable id (from the outbox key): receivers can drop a redelivery
    date: datetime
    sender_name: str = ""
    to_name: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


def build_message(email: Email) -> EmailMessage:
    """multipart/alternative (text, then HTML) with From, To, Subject, Date, Message-ID."""
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(email.sender, email.sender_name)
    message["To"] = _address(email.to, email.to_name)
    # One line: a subject from a template never carries a header break.
    message["Subject"] = " ".join(email.subject.split())
    message["Date"] = format_datetime(email.date)
    domain = email.sender.rpartition("@")[2] or "alert-whisperer"
    message["Message-ID"] = f"<{email.message_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    for name, value in email.headers.items():
        message[name] = " ".join(value.split())
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message


def _address(addr: str, name: str) -> str:
    user, _, domain = addr.rpartition("@")
    return str(Address(display_name=name, username=user, domain=domain)) if name else addr


def _context(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if server.ca_file:
        context.load_verify_locations(server.ca_file)
    return context


def _where(server: SmtpServer) -> str:
    return f"SMTP {server.host}:{server.port}"


def _by_code(code: int, text: str) -> DeliveryDeferredError | DeliveryRefusedError:
    """RFC 5321: 4yz is a transient failure, 5yz a permanent one."""
    if 500 <= code < 600:
        return DeliveryRefusedError(text, code=code)
    return DeliveryDeferredError(text, code=code)


def send_email(server: SmtpServer, email: Email) -> None:
    """Hand one message to the relay. Blocking (run it in a thread); raises DeliveryDeferredError
    or DeliveryRefusedError, each saying what the server answered."""
    where = _where(server)
    message = build_message(email)
    try:
        if server.tls == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host,
                server.port,
                timeout=server.timeout,
                context=_context(server),
                local_hostname=server.local_hostname,
            )
        else:
            client = smtplib.SMTP(
                server.host,
                server.port,
                timeout=server.timeout,
                local_hostname=server.local_hostname,
            )
    except smtplib.SMTPResponseException as exc:  # the greeting was a refusal (421, 554)
        raise _by_code(exc.smtp_code, f"{where} refused the connection: {_text(exc)}") from exc
    except smtplib.SMTPServerDisconnected as exc:  # no greeting (smtplib hides a timeout here)
        raise DeliveryDeferredError(f"{where} sent no greeting: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryRefusedError(f"{where}: the certificate does not verify: {exc}") from exc
    except TimeoutError as exc:
        raise DeliveryDeferredError(f"{where}: no answer within {server.timeout:g}s") from exc
    except OSError as exc:  # refused, unreachable, unknown host, TLS handshake failure
        raise DeliveryDeferredError(f"{where}: cannot connect: {exc}") from exc
    try:
        _deliver(client, server, message, email)
    finally:
        _close(client)


def _deliver(client: smtplib.SMTP, server: SmtpServer, message: EmailMessage, email: Email) -> None:
    where = _where(server)
    try:
        client.ehlo()
        if server.tls == "starttls":
            if not client.has_extn("starttls"):
                raise DeliveryRefusedError(
                    f"{where} does not offer STARTTLS; the channel says tls: starttls "
                    "(use tls: tls for port 465, or none for a plain internal relay)"
                )
            client.starttls(context=_context(server))
            client.ehlo()
        if server.username is not None:
            client.login(server.username, server.password or "")
        client.send_message(message, from_addr=email.sender, to_addrs=[email.to])
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()), (550, b""))
        raise _by_code(code, f"{where} refused {email.to}: {code} {_decode(answer)}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise _by_code(exc.smtp_code, f"{where} refused the login: {_text(exc)}") from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, DATA refused, ...
        raise _by_code(exc.smtp_code, f"{where} refused the message: {_text(exc)}") from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryDeferredError(f"{where} closed the connection: {exc}") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryRefusedError(f"{where} does not support what is needed: {exc}") from exc
    except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism in common
        raise DeliveryRefusedError(f"{where}: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryRefusedError(f"{where}: the certificate does not verify: {exc}") from exc
    except TimeoutError as exc:
        raise DeliveryDeferredError(f"{where}: no answer within {server.timeout:g}s") from exc
    except OSError as exc:
        raise DeliveryDeferredError(f"{where}: the connection failed: {exc}") from exc


def _close(client: smtplib.SMTP) -> None:
    """QUIT, ignoring what it says: the message was accepted (or refused) already, and a
    failing QUIT must never make an accepted message look failed (it would be sent twice)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _decode(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _text(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_decode(exc.smtp_error)}"[:500]
