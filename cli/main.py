"""The `kubectl-whisper` entry point (kubectl finds it on PATH as `kubectl whisper`): builds
the command line from the command modules and turns what happened into an exit code."""

from __future__ import annotations

import argparse
import sys

from whisperer.cli.commands import REGISTRY
from whisperer.cli.flags import common
from whisperer.cli.session import Session, UsageError, check_scope
from whisperer.operator.errors import WhispererError
from whisperer.operator.kube import KubeClient

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
OFFLINE = {"completion"}  # commands that need no API server


def parser() -> argparse.ArgumentParser:
    """The command line, kubectl-style flags included."""
    p = argparse.ArgumentParser(
        prog="kubectl whisper",
        description="Work Alert Whisperer incidents from kubectl. Exit codes: 0 success, "
        "1 error (refused, not found, unreachable), 2 bad usage.",
    )
    common(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRY:
        register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code says what happened."""
    p = parser()
    args = p.parse_args(argv)
    try:
        check_scope(args)
    except UsageError as exc:
        p.print_usage(sys.stderr)
        print(f"kubectl whisper: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command in OFFLINE:
        return int(args.handler(Session(args, kube=None)))  # type: ignore[arg-type]
    try:
        kube = KubeClient.from_kubeconfig(args.kubeconfig, args.context)
    except Exception as exc:  # the kubernetes loader raises bare exceptions on bad config
        print(f"error: cannot load a kubeconfig: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.handler(Session(args, kube)))
    except UsageError as exc:
        p.print_usage(sys.stderr)
        print(f"kubectl whisper: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WhispererError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # `kubectl whisper inc | head`
        return EXIT_OK
    finally:
        kube.close()


if __name__ == "__main__":
    raise SystemExit(main())
