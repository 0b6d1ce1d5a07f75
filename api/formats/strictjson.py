"""JSON as the shim reads it: hostile bodies (deep nesting, huge numbers, NaN, duplicate
keys, unpaired surrogates) are a PayloadError (400) naming what is wrong, never a crash.

Python's `json` accepts `NaN` and `Infinity`, keeps the last of duplicate keys, turns
`1e400` into infinity, accepts `"\\ud800"` (a string that cannot be encoded again, so a
later write would fail), and raises RecursionError on deep nesting. Each of these is
refused here. The checks that walk the decoded value run only when a cheap byte count says
they could matter, so an ordinary body costs the C decoder and a few hooks.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from whisperer.api.formats.base import ROOT, PayloadError, path

MAX_DEPTH = 64
"""Nesting of arrays and objects beyond which a body is refused (no format needs 10)."""
MAX_INT_DIGITS = 20
"""Integers longer than this (beyond 64 bits) are refused: no field means such a number."""
MAX_FLOAT_CHARS = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(raw: bytes | str, *, field: str = ROOT) -> Any:
    """The JSON value of `raw` (UTF-8 bytes, or text), or a PayloadError naming `field`."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(
                field, f"malformed JSON: not UTF-8 (byte {exc.start} is {raw[exc.start]:#04x})"
            ) from None
        data = raw
    else:
        text = raw
        data = raw.encode("utf-8", "surrogatepass")
    text = text.removeprefix("\ufeff")  # a byte order mark some Windows tools add
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except PayloadError as exc:  # from a hook: say where the body is
        raise PayloadError(field, exc.problem) from None
    except RecursionError:
        raise PayloadError(field, f"malformed JSON: nested deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError, and int() past Python's digit limit
        raise PayloadError(field, f"malformed JSON: {str(exc)[:200]}") from None
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(data):
        _walk(value, field=field)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise PayloadError(ROOT, f"malformed JSON: duplicate key {key[:80]!r}")
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise PayloadError(ROOT, f"malformed JSON: {name} is not a JSON number")


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise PayloadError(ROOT, f"malformed JSON: a number of {len(digits)} digits is too large")
    return int(digits)


def _float(spelled: str) -> float:
    if len(spelled) > MAX_FLOAT_CHARS:
        raise PayloadError(ROOT, f"malformed JSON: a number of {len(spelled)} characters")
    value = float(spelled)
    if not math.isfinite(value):
        raise PayloadError(ROOT, f"malformed JSON: {spelled[:40]} is out of range")
    return value


def _walk(value: Any, *, field: str) -> None:
    """Refuse nesting past MAX_DEPTH and strings holding an unpaired surrogate (iterative:
    the value may be as deep as the decoder allowed)."""
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, at, depth = stack.pop()
        if isinstance(item, str):
            _encodable(item, at=at)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise PayloadError(at, f"malformed JSON: nested deeper than {MAX_DEPTH}")
        if isinstance(item, dict):
            for key, child in item.items():
                _encodable(key, at=at)
                stack.append((child, path(at, key[:80]), depth + 1))
        else:
            stack.extend((child, path(at, i), depth + 1) for i, child in enumerate(item))


def _encodable(text: str, *, at: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = ord(text[exc.start])
        raise PayloadError(
            at, f"invalid text: an unpaired surrogate \\u{bad:04x} is not a character"
        ) from None
