"""`version` and `whoami`: which plugin, which server, and who the server says you are."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from whisperer.cli.flags import Subparsers, command
from whisperer.cli.output import emit_one, pairs
from whisperer.cli.session import Session


def package_version() -> str:
    try:
        return version("alert-whisperer")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def run_version(s: Session) -> int:
    data = {"plugin": package_version(), "server": s.kube.server_version()}
    emit_one(
        data, output=s.args.output, text=lambda: pairs(list(data.items())), name=data["plugin"]
    )
    return 0


def run_whoami(s: Session) -> int:
    who = s.kube.whoami()
    rows = [("username", str(who["username"])), ("groups", ",".join(who["groups"]))]
    emit_one(who, output=s.args.output, text=lambda: pairs(rows), name=str(who["username"]))
    return 0


def register(sub: Subparsers) -> None:
    command(sub, "version", run_version, "print the plugin's and the API server's versions")
    command(sub, "whoami", run_whoami, "print who the API server says you are")
