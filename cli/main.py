"""The `kubectl-whisper` entry point (kubectl finds it on PATH as `kubectl whisper`)."""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import yaml

from whisperer.operator.errors import ForbiddenError, UnavailableError, WhispererError
from whisperer.operator.kube import KubeClient

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FORBIDDEN, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4


def _package_version() -> str:
    try:
        return version("alert-whisperer")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _emit(data: dict[str, Any], output: str, table: list[tuple[str, str]]) -> None:
    """Data to stdout, in the format asked for."""
    if output == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    elif output == "yaml":
        print(yaml.safe_dump(data, sort_keys=True), end="")
    else:
        width = max(len(k) for k, _ in table)
        for key, value in table:
            print(f"{key.upper():<{width}}  {value}")


def _common(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    """kubectl's global flags, accepted before or after the command."""
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    p.add_argument("--context", default=default, help="the kubeconfig context to use")
    p.add_argument(
        "-o",
        "--output",
        choices=["table", "wide", "json", "yaml"],
        default=argparse.SUPPRESS if suppress else "table",
        help="output format",
    )


def parser() -> argparse.ArgumentParser:
    """The command line, kubectl-style flags included."""
    p = argparse.ArgumentParser(
        prog="kubectl whisper", description="Work Alert Whisperer incidents from kubectl."
    )
    _common(p, suppress=False)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("version", "print the plugin's and the API server's versions"),
        ("whoami", "print who the API server says you are"),
    ):
        _common(sub.add_parser(name, help=text, description=text), suppress=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code says what happened."""
    args = parser().parse_args(argv)
    try:
        kube = KubeClient.from_kubeconfig(args.kubeconfig, args.context)
    except Exception as exc:  # the kubernetes loader raises bare exceptions on bad config
        print(f"error: cannot load a kubeconfig: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.command == "version":
            data = {"plugin": _package_version(), "server": kube.server_version()}
            _emit(data, args.output, [("plugin", data["plugin"]), ("server", data["server"])])
        elif args.command == "whoami":
            who = kube.whoami()
            groups = ",".join(who["groups"])
            _emit(who, args.output, [("username", who["username"]), ("groups", groups)])
    except ForbiddenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FORBIDDEN
    except UnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except WhispererError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        kube.close()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
