"""One way to print what a command found: table, wide, json, yaml or name, to stdout."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

FORMATS = ("table", "wide", "json", "yaml", "name")

Row = Any


@dataclass(frozen=True)
class Column:
    """A table column: its header, how to get its text from a row, and whether only `-o
    wide` shows it."""

    header: str
    value: Callable[[Row], str]
    wide: bool = False


def colour_enabled(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and stream.isatty()


_CODES = {"red": "31", "yellow": "33", "green": "32", "bold": "1", "dim": "2"}


def paint(text: str, colour: str) -> str:
    """`text` in `colour` when colour is enabled; as is otherwise."""
    if not text or not colour_enabled():
        return text
    return f"\033[{_CODES[colour]}m{text}\033[0m"


def table(rows: Sequence[Row], columns: Sequence[Column], *, wide: bool) -> str:
    """kubectl's table: upper-case headers, columns padded, three spaces between."""
    shown = [c for c in columns if wide or not c.wide]
    cells = [[c.header.upper() for c in shown]]
    cells += [[c.value(row) or "" for c in shown] for row in rows]
    widths = [max(len(_plain(line[i])) for line in cells) for i in range(len(shown))]
    lines = []
    for line in cells:
        padded = [cell + " " * (widths[i] - len(_plain(cell))) for i, cell in enumerate(line)]
        lines.append("   ".join(padded).rstrip())
    return "\n".join(lines)


def _plain(text: str) -> str:
    """The text without colour codes (for widths)."""
    while "\033[" in text:
        start = text.index("\033[")
        end = text.index("m", start)
        text = text[:start] + text[end + 1 :]
    return text


def dump(data: Any, output: str) -> str:
    """An object (or a list of them) as JSON or YAML."""
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=True, default=str)
    return yaml.safe_dump(data, sort_keys=True).rstrip("\n")


def as_list(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Objects as kubectl prints a list of them: a `v1 List`."""
    return {"apiVersion": "v1", "kind": "List", "items": list(items), "metadata": {}}


def emit(
    rows: Sequence[Row],
    *,
    output: str,
    columns: Sequence[Column],
    raw: Callable[[Row], dict[str, Any]],
    name: Callable[[Row], str],
    empty: str = "No resources found.",
    stream: TextIO | None = None,
) -> None:
    """Rows in the format asked for: data to stdout, "nothing found" to stderr."""
    out = stream or sys.stdout
    if output in ("json", "yaml"):
        print(dump(as_list(raw(r) for r in rows), output), file=out)
    elif output == "name":
        for row in rows:
            print(name(row), file=out)
    elif not rows:
        print(empty, file=sys.stderr)
    else:
        print(table(rows, columns, wide=output == "wide"), file=out)


def emit_one(data: dict[str, Any], *, output: str, text: Callable[[], str], name: str = "") -> None:
    """One object: json/yaml as it is, name as `kind/name`, table/wide as `text()`."""
    if output in ("json", "yaml"):
        print(dump(data, output))
    elif output == "name":
        print(name)
    else:
        print(text())


def pairs(items: Sequence[tuple[str, str]]) -> str:
    """KEY  value lines, keys upper-case and aligned."""
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k.upper():<{width}}  {v}" for k, v in items)
