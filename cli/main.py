"""The `kubectl-whisper` entry point (kubectl finds it on PATH as `kubectl whisper`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from whisperer.operator.errors import (
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    WhispererError,
)
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import KINDS_BY_NAME, Alert
from whisperer.operator.services import configdiff, gitsync, replay
from whisperer.operator.services.durations import parse_duration

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FORBIDDEN, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
EXIT_INVALID = 5


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


def run_diff(
    kube: KubeClient,
    path: str,
    *,
    source: str | None,
    output: str,
    replay_alerts: Callable[[KubeClient], list[Alert]] | None = None,
) -> int:
    """`kubectl whisper diff`: exit 1 when applying would change objects or behaviour.
    With `replay_alerts`, those alerts are replayed with the current and the new config
    (services/replay.py) and every difference is listed."""
    folder = Path(path).resolve()
    try:
        docs = gitsync.build(folder, ".")
        gitsync.validate(docs)
    except gitsync.SyncStepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.file}[{error.document}]: {error.message}", file=sys.stderr)
        return EXIT_INVALID
    inventory: list[str] = []
    if source:
        namespace, _, name = source.partition("/")
        status = kube.get("gitsources", name, namespace).get("status") or {}
        inventory = [entry["id"] for entry in status.get("inventory") or []]
    live: dict[str, Any] = {}
    for doc in docs:
        meta = doc.body["metadata"]
        namespace_ = meta.get("namespace") if doc.kind.info.namespaced else None
        try:
            live[doc.id] = kube.get(doc.kind.info.plural, meta["name"], namespace_)
        except NotFoundError:
            live[doc.id] = None
    result = configdiff.plan(docs, live, inventory)
    differences: list[replay.Difference] = []
    replayed = 0
    if replay_alerts is not None:
        current = [
            {"kind": kind.info.kind, **body}
            for kind in KINDS_BY_NAME.values()
            if kind.info.kind in replay.CONFIG_KINDS
            for body in kube.list(kind.info.plural)
        ]
        proposed = configdiff.proposed_objects(current, docs, result)
        alerts = replay_alerts(kube)
        replayed = len(alerts)
        differences = replay.compare(
            replay.replay(alerts, replay.Config.from_bodies(current)),
            replay.replay(alerts, replay.Config.from_bodies(proposed)),
        )
    data = {
        "changes": [
            {
                "action": c.action,
                "id": c.id,
                "fields": [
                    {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                ],
            }
            for c in result.changes
        ],
        "behaviour": {
            "alertsReplayed": replayed,
            "differences": [
                {
                    "kind": d.kind,
                    "subject": d.subject,
                    "before": d.before,
                    "after": d.after,
                    "detail": d.detail,
                }
                for d in differences
            ],
        },
    }
    if output in ("json", "yaml"):
        _emit(data, output, [])
    else:
        for change in result.changes:
            print(f"{change.action:<7} {change.id}")
            for f in change.fields:
                print(f"          {f.path}: {json.dumps(f.before)} -> {json.dumps(f.after)}")
        if not result.changes:
            print("no changes", file=sys.stderr)
        if replay_alerts is not None:
            print(
                f"\nbehaviour, replaying {replayed} alert(s) with the current and the new config:"
            )
            for d in differences:
                print(f"{d.kind:<8} {d.subject}: {d.before} -> {d.after}")
                if d.detail:
                    print(f"          ({d.detail})")
            if not differences:
                print("no difference")
    return EXIT_ERROR if result.changes or differences else EXIT_OK


def alerts_from_file(path: str) -> list[Alert]:
    """Alerts from a YAML or JSON file: documents, lists of them, or `kind: List` objects."""
    found: list[Alert] = []
    try:
        with Path(path).open(encoding="utf-8") as handle:
            for n, doc in enumerate(yaml.safe_load_all(handle)):
                items = doc if isinstance(doc, list) else (doc or {}).get("items", [doc])
                for item in items:
                    if not isinstance(item, dict):
                        raise WhispererError(f"{path}: document {n}: not an Alert object")
                    found.append(Alert.from_body({"kind": "Alert", **item}))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise WhispererError(f"cannot read alerts from {path}: {exc}") from exc
    return found


def alerts_from_cluster(kube: KubeClient, since: timedelta) -> list[Alert]:
    """The cluster's alerts that first fired within `since`."""
    horizon = datetime.now(UTC) - since
    alerts = [Alert.from_body({"kind": "Alert", **body}) for body in kube.list("alerts")]
    return [a for a in alerts if a.spec.first_seen >= horizon]


def _replay_source(args: argparse.Namespace) -> Callable[[KubeClient], list[Alert]] | None:
    if args.no_replay:
        return None
    if args.alerts:
        path = str(args.alerts)
        return lambda _: alerts_from_file(path)
    since = parse_duration(args.since)
    return lambda kube: alerts_from_cluster(kube, since)


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
    diff = sub.add_parser(
        "diff",
        help="what applying a config folder would add, change and prune",
        description="Build and validate a config folder as the git syncer does, then compare "
        "it with the cluster. Exit 0: no changes, 1: changes, 2: usage, 3: forbidden, "
        "4: unreachable, 5: the folder does not build or validate.",
    )
    _common(diff, suppress=True)
    diff.add_argument("path", help="a folder of config YAML (a checkout of the config repo)")
    diff.add_argument(
        "--source",
        metavar="NAMESPACE/NAME",
        help="the GitSource whose inventory decides what would be pruned",
    )
    diff.add_argument(
        "--since",
        default="24h",
        metavar="DURATION",
        help="replay the cluster's alerts that first fired within this (default 24h)",
    )
    diff.add_argument(
        "--alerts", metavar="FILE", help="replay the Alerts in this YAML or JSON file instead"
    )
    diff.add_argument(
        "--no-replay", action="store_true", help="compare objects only, replay no alerts"
    )
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
        elif args.command == "diff":
            return run_diff(
                kube,
                args.path,
                source=args.source,
                output=args.output,
                replay_alerts=_replay_source(args),
            )
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
