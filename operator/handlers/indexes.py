"""The config kinds the operator decides with, kept in its config store from watches of its
own (`kube.watch.Informer`), read through the store's typed accessors by every handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from whisperer.operator.kube.watch import Informer
from whisperer.operator.runtime import Runtime
from whisperer.operator.services.configstore import KINDS


def _feeder(runtime: Runtime, plural: str) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    async def feed(kind: str, body: dict[str, Any]) -> None:
        runtime.config.apply(plural, kind, body)

    return feed


def informers(runtime: Runtime) -> list[Informer]:
    """One watch per config kind, feeding the store."""
    return [
        Informer(
            runtime.akube,
            plural,
            _feeder(runtime, plural),
            page_size=runtime.settings.list_page_size,
        )
        for plural in KINDS
    ]
