"""What applying a config revision would do: objects added, changed (field by field) and
pruned, compared with what the cluster has. The same build and validate steps as the syncer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from whisperer.operator.services.gitsync import Doc


@dataclass(frozen=True)
class FieldChange:
    """One field that would change: its path, the value now and the value after."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ObjectChange:
    """One object and what would happen to it."""

    action: str  # add, change, prune
    id: str
    fields: tuple[FieldChange, ...] = ()


@dataclass
class Plan:
    """Every change, in a stable order."""

    changes: list[ObjectChange] = field(default_factory=list)

    def of(self, action: str) -> list[ObjectChange]:
        """The changes of one kind."""
        return [c for c in self.changes if c.action == action]


def field_changes(desired: Any, live: Any, path: str = "spec") -> list[FieldChange]:
    """What server-side apply would change: every field the desired object sets that the live
    one has otherwise (fields only the live object has are another manager's, and stay)."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        changes: list[FieldChange] = []
        for key, value in desired.items():
            changes += field_changes(value, live.get(key), f"{path}.{key}")
        return changes
    if desired != live:
        return [FieldChange(path, live, desired)]
    return []


def plan(
    docs: Iterable[Doc], live: Mapping[str, dict[str, Any] | None], inventory: Iterable[str] = ()
) -> Plan:
    """The plan, given each document's live object (None when absent) and the ids the
    GitSource applied last time (for prunes)."""
    result = Plan()
    wanted = set()
    for doc in sorted(docs, key=lambda d: d.id):
        wanted.add(doc.id)
        current = live.get(doc.id)
        if current is None:
            result.changes.append(ObjectChange("add", doc.id))
            continue
        changed = field_changes(doc.body.get("spec", {}), current.get("spec", {}))
        if changed:
            result.changes.append(ObjectChange("change", doc.id, tuple(changed)))
    for gone in sorted(set(inventory) - wanted):
        result.changes.append(ObjectChange("prune", gone))
    return result


def object_id(body: Mapping[str, Any]) -> str:
    """An object's inventory id (as `Doc.id` names the documents)."""
    meta = body["metadata"]
    return f"{meta.get('namespace') or ''}_{meta['name']}_alertwhisperer.io_{body['kind']}"


def proposed_objects(
    live: Iterable[Mapping[str, Any]], docs: Iterable[Doc], result: Plan
) -> list[Mapping[str, Any]]:
    """The objects the cluster would hold after applying: the live ones, without those the
    plan prunes, with each document in place of the object it adds or changes."""
    pruned = {c.id for c in result.of("prune")}
    objects: dict[str, Mapping[str, Any]] = {
        object_id(body): body for body in live if object_id(body) not in pruned
    }
    for doc in docs:
        objects[doc.id] = doc.body
    return list(objects.values())
