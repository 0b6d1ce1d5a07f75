"""Writes the shim's OpenAPI document to docs/api/openapi.json, or checks it is current.

`python -m whisperer.api.openapi` rewrites it; `--check` fails when it drifted from the code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from whisperer.api.app import create_app


def document() -> str:
    """The OpenAPI document as checked in: sorted keys, two-space indent, final newline."""
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write or check the document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/api/openapi.json"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = document()
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(
                f"{args.out} is out of date: run python -m whisperer.api.openapi", file=sys.stderr
            )
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
