"""kubectl's flags, shared by every command: accepted before or after the command name."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from whisperer.cli.output import FORMATS

Subparsers = Any  # argparse's _SubParsersAction is private
Handler = Callable[..., int]


def common(
    p: argparse.ArgumentParser, *, top: bool = False, formats: tuple[str, ...] = FORMATS
) -> None:
    """--kubeconfig, --context and -o (defaults only on the top parser, so a flag given
    before the command is not overwritten by the sub-command's default)."""
    default = None if top else argparse.SUPPRESS
    p.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    p.add_argument("--context", default=default, help="the kubeconfig context to use")
    p.add_argument(
        "-o",
        "--output",
        choices=formats,
        default="table" if top else argparse.SUPPRESS,
        help="output format: " + "|".join(formats),
    )


def scope(p: argparse.ArgumentParser, *, all_namespaces: bool = True) -> None:
    """-n, --company and (for lists) -A."""
    p.add_argument("-n", "--namespace", help="the company namespace (company-NAME)")
    p.add_argument("--company", help="the company (its namespace is company-NAME)")
    if all_namespaces:
        p.add_argument(
            "-A", "--all-namespaces", action="store_true", help="every namespace you may read"
        )


def command(
    sub: Subparsers,
    name: str,
    handler: Handler,
    text: str,
    *,
    aliases: tuple[str, ...] = (),
    description: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> argparse.ArgumentParser:
    """A sub-command with the common flags and its handler."""
    p: argparse.ArgumentParser = sub.add_parser(
        name, aliases=list(aliases), help=text, description=description or text
    )
    common(p, formats=formats)
    p.set_defaults(handler=handler)
    return p
