"""List-then-watch of one kind across namespaces (an informer, as client-go has them), for the
operator's hot paths: every object reaches the handler in order, nothing is missed between
the list and the watch, and a watch that cannot resume lists again.

Kopf watches what it reconciles; alerts and incidents, which the operator handles hundreds
of times a second, are watched here instead (docs/decisions.md says why).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from whisperer.operator.errors import UnavailableError, WhispererError
from whisperer.operator.kube.aio import AsyncKube, ExpiredError

Body = dict[str, Any]
Handler = Callable[[str, Body], Awaitable[None]]

log = logging.getLogger(__name__)


def object_key(body: Body) -> tuple[str, str]:
    """(namespace, name) of an object."""
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Informer:
    """Hands every object of `plural` to `handle(type, body)`, in order: ADDED (listed, or
    created), MODIFIED, DELETED. After a relist, objects that went meanwhile are handed over
    as DELETED (with their metadata only). `synced` is set once the first list is handed
    over. A failing handler is logged and the informer goes on."""

    def __init__(
        self,
        kube: AsyncKube,
        plural: str,
        handle: Handler,
        *,
        page_size: int = 500,
        watch_timeout: int = 300,
    ) -> None:
        self._kube = kube
        self.plural = plural
        self._handle = handle
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._keys: set[tuple[str, str]] = set()
        self.synced = asyncio.Event()
        self.resource_version: str | None = None
        self.relists = 0

    async def run(self) -> None:
        """Until cancelled."""
        delay = 0.5
        while True:
            try:
                if self.resource_version is None:
                    await self._relist()
                async for event in self._kube.watch(
                    self.plural,
                    resource_version=self.resource_version or "",
                    timeout_seconds=self._watch_timeout,
                ):
                    await self._event(event)
                delay = 0.5
            except ExpiredError:
                self.resource_version = None  # too old to resume: list again
            except (UnavailableError, WhispererError) as exc:
                log.warning("watch of %s interrupted (%s); again in %.1fs", self.plural, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _event(self, event: Body) -> None:
        kind, obj = str(event.get("type")), event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind == "BOOKMARK":
            return
        key = object_key(obj)
        if kind == "DELETED":
            self._keys.discard(key)
        else:
            self._keys.add(key)
        await self._call(kind, obj)

    async def _relist(self) -> None:
        items, version = await self._kube.list_all(self.plural, limit=self._page_size)
        self.relists += 1
        seen: set[tuple[str, str]] = set()
        for obj in items:
            seen.add(object_key(obj))
            await self._call("ADDED", obj)
        for namespace, name in sorted(self._keys - seen):
            await self._call("DELETED", {"metadata": {"namespace": namespace, "name": name}})
        self._keys = seen
        self.resource_version = version
        self.synced.set()

    async def _call(self, kind: str, obj: Body) -> None:
        try:
            await self._handle(kind, obj)
        except asyncio.CancelledError:
            raise
        except Exception:
            namespace, name = object_key(obj)
            log.exception("handling %s %s %s/%s failed", kind, self.plural, namespace, name)


__all__ = ["Informer", "object_key"]
