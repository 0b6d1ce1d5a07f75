"""Every value of the chart is commented in values.yaml (a `# --` line above it) and typed in
values.schema.json, and the schema names no value values.yaml lacks."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from support.helm import CHART

VALUES = (CHART / "values.yaml").read_text()
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w.-]*):(?: |$)")


def _node(path: list[str]) -> dict[str, Any] | None:
    """The schema of a path, or None when the path is inside a free-form value."""
    node: dict[str, Any] = SCHEMA
    for key in path:
        props = node.get("properties")
        if props is None or key not in props:
            return None
        node = props[key]
    return node


def _value_keys() -> list[tuple[list[str], int]]:
    """(path, line index) of every key that the schema describes."""
    stack: list[tuple[int, str]] = []
    found = []
    lines = VALUES.splitlines()
    for i, line in enumerate(lines):
        match = KEY.match(line)
        if not match or line.lstrip().startswith("-"):
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [k for _, k in stack] + [match["key"]]
        stack.append((indent, match["key"]))
        if _node(path) is not None:
            found.append((path, i))
    return found


def test_every_value_has_a_comment_above_it() -> None:
    lines = VALUES.splitlines()
    documented, leaves = set(), []
    for path, i in _value_keys():
        j, block = i - 1, []
        while j >= 0 and lines[j].lstrip().startswith("#"):
            block.append(lines[j].strip())
            j -= 1
        if any(c.startswith("# --") for c in block):
            documented.add(tuple(path))
        node = _node(path)
        if node is not None and "properties" not in node:
            leaves.append(path)
    # A value is documented by its own comment or by one on the value it belongs to.
    missing = [
        ".".join(p)
        for p in leaves
        if not any(tuple(p[:n]) in documented for n in range(1, len(p) + 1))
    ]
    assert missing == []


def test_the_schema_describes_every_property_and_values_yaml_sets_each() -> None:
    in_values = {".".join(path) for path, _ in _value_keys()}

    def walk(node: dict[str, Any], prefix: str) -> list[str]:
        out = []
        for key, sub in node.get("properties", {}).items():
            here = f"{prefix}{key}"
            assert sub.get("description"), f"{here} has no description in the schema"
            if here != "global":
                out.append(here)
            out += walk(sub, here + ".")
        return out

    described = set(walk(SCHEMA, ""))
    assert described - in_values == set()
    assert yaml.safe_load(VALUES)  # and it parses
