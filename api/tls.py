"""TLS served by the shim itself (for MSPs without an Ingress in front, and for senders such
as PagerDuty's client that refuse plain http), with the certificate reloaded when its files
change: a renewed certificate (cert-manager, a rotated Secret) needs no restart.

The listening socket's context never changes; at each handshake its SNI callback (called
also when the client sends no server name) hands the connection the newest good context.
A change is picked up by `reload_if_changed`, which the app's lifespan calls every
`interval` seconds. Files that do not load (a pair half written, a key that does not match)
are logged and the previous certificate stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import uvicorn

log = logging.getLogger("whisperer.api")

Stamp = tuple[tuple[int, int, int], ...]


class ReloadingTLS:
    """A server SSLContext whose certificate follows `cert` and `key` (PEM files)."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key
        self._stamp = self._stat()
        self._current = self._load()
        self.context = self._load()
        """What the listening socket is given; each handshake switches to the newest."""
        self.context.sni_callback = self._pick
        self.reloads = 0

    def _load(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        return context

    def _stat(self) -> Stamp:
        stats = (self.cert.stat(), self.key.stat())  # follows a Secret mount's symlinks
        return tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in stats)

    def _pick(self, conn: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        conn.context = self._current

    def reload_if_changed(self) -> bool:
        """Load the files again if they changed since the last good load; True if the
        certificate in use is now theirs."""
        try:
            stamp = self._stat()
            if stamp == self._stamp:
                return False
            fresh = self._load()
        except (OSError, ssl.SSLError) as exc:
            log.warning("TLS files not reloaded, the previous certificate stays: %s", exc)
            return False
        self._current, self._stamp = fresh, stamp
        self.reloads += 1
        log.info("TLS certificate reloaded from %s", self.cert)
        return True

    async def watch(self, interval: float) -> None:
        """Check the files every `interval` seconds, forever (cancelled at shutdown)."""
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()


class TLSConfig(uvicorn.Config):
    """uvicorn's Config, serving with a given SSLContext instead of one made from files."""

    def __init__(self, *args: object, tls: ReloadingTLS | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tls = tls

    def load(self) -> None:
        """Everything uvicorn loads, then our context."""
        super().load()
        if self.tls is not None:
            self.ssl = self.tls.context
