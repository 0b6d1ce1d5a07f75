"""Throwaway certificates and an HTTPS server on loopback: a CA-less certificate for the SNS
tests (the shim fetches the signing certificate over real HTTPS), and a test CA issuing
server certificates for loopback servers real clients must trust (the shim's own TLS, the
ARM stub, SMTP with STARTTLS, webhook receivers)."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def self_signed(tmp: Path) -> tuple[rsa.RSAPrivateKey, Path, Path]:
    """An RSA key and a certificate for 127.0.0.1, written as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key, cert_path, key_path


def sign_sns(message: dict[str, str], key: rsa.RSAPrivateKey, *, version: str = "2") -> None:
    """Add Signature and SignatureVersion as SNS does (canonical string, RSA PKCS#1 v1.5)."""
    from whisperer.api.formats.sns_signature import canonical_string

    message["SignatureVersion"] = version
    digest = hashes.SHA256() if version == "2" else hashes.SHA1()
    import base64

    signature = key.sign(canonical_string(message).encode(), padding.PKCS1v15(), digest)
    message["Signature"] = base64.b64encode(signature).decode()


class _Handler(http.server.BaseHTTPRequestHandler):
    served: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = self.served.get(self.path.split("?")[0], b"<ConfirmSubscriptionResponse/>")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@contextlib.contextmanager
def https_server(
    cert: Path, key: Path, served: dict[str, bytes]
) -> Iterator[tuple[str, list[str]]]:
    """Serve `served` (path -> bytes) over HTTPS on loopback; yields base URL and hits."""
    handler = type("Handler", (_Handler,), {"served": served, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()


class LoopbackCA:
    """A throwaway certificate authority on disk (`cert`), issuing loopback server
    certificates: clients trust the CA, so a renewed leaf is trusted at once."""

    def __init__(self, tmp: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whisperer test CA")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert = tmp / "ca.pem"
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cert_path: Path, key_path: Path) -> int:
        """A new key and certificate for 127.0.0.1, written over the two files at once
        (each replaced by a rename, as a Secret mount swaps them); its serial number."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for path, data in ((key_path, pem_key), (cert_path, cert.public_bytes(PEM))):
            part = path.with_suffix(".new")
            part.write_bytes(data)
            part.replace(path)
        return cert.serial_number


PEM = serialization.Encoding.PEM


def served_serial(port: int, ca: Path) -> int:
    """The serial number of the certificate a TLS server on loopback presents now."""
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def make_test_ca(tmp: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 that it signed: the CA's PEM
    (for the client to trust), and the server's certificate and key."""
    ca = LoopbackCA(tmp)
    cert_path, key_path = tmp / "server.pem", tmp / "server-key.pem"
    ca.issue(cert_path, key_path)
    return ca.cert, cert_path, key_path
