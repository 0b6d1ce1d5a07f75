"""Finds the asset an alert is about in a company's inventory, by any name a tool uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from whisperer.operator.models.v1alpha1.company import Asset


@dataclass(frozen=True)
class Resolved:
    """The asset's inventory name (or the name as given) and whether it was found."""

    name: str
    known: bool


class Inventory:
    """Lookup tables over a company's assets: instance id, resource id, host name, IP, name."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self._by: dict[str, str] = {}
        for asset in assets:
            keys = [asset.name, *asset.hostnames, *asset.ip_addresses]
            if asset.instance_id:
                keys.append(asset.instance_id)
            if asset.resource_id:
                keys.append(asset.resource_id)
            for key in keys:
                for variant in _variants(key):
                    self._by.setdefault(variant, asset.name)

    def resolve(
        self,
        *,
        name: str,
        hostnames: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        instance_id: str | None = None,
        resource_id: str | None = None,
    ) -> Resolved:
        """The first identifier that matches, most specific first; else the name as given."""
        for key in (instance_id, resource_id, *hostnames, *ip_addresses, name):
            if not key:
                continue
            for variant in _variants(key):
                if variant in self._by:
                    return Resolved(self._by[variant], True)
        return Resolved(name or "unknown", False)


def _variants(key: str) -> list[str]:
    """Case-insensitive, and a fully qualified host name also matches its short name."""
    low = key.strip().lower()
    short = low.split(".", 1)[0] if not low[:1].isdigit() and not low.startswith("/") else low
    return [low] if short == low else [low, short]
