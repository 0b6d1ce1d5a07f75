"""`diff FOLDER`: what applying a config folder would add, change and prune, and how the
cluster's recent alerts would be handled differently (services/replay.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from whisperer.cli.flags import Subparsers, command
from whisperer.cli.output import dump
from whisperer.cli.session import Session
from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import KINDS_BY_NAME, Alert
from whisperer.operator.services import configdiff, gitsync, replay
from whisperer.operator.services.durations import parse_duration

EXIT_CHANGES, EXIT_INVALID = 1, 5


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
        print(dump(data, output))
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
    return EXIT_CHANGES if result.changes or differences else 0


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
    horizon = datetime.now(UTC) - since  # the caller's wall clock
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


def run(s: Session) -> int:
    return run_diff(
        s.kube,
        s.args.path,
        source=s.args.source,
        output=s.args.output,
        replay_alerts=_replay_source(s.args),
    )


def register(sub: Subparsers) -> None:
    diff = command(
        sub,
        "diff",
        run,
        "what applying a config folder would add, change and prune",
        description="Build and validate a config folder as the git syncer does, then compare "
        "it with the cluster. Exit 0: no changes, 1: changes (or an error), 2: usage, "
        "5: the folder does not build or validate.",
        formats=("table", "json", "yaml"),
    )
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
