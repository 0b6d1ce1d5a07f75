"""The git syncer's steps, in Flux's manner: fetch, build, validate, apply, prune, report.

Each step fails with its own condition. Nothing is applied unless everything validated,
and nothing is pruned after a failed fetch, build or validation, or down to nothing unless
the GitSource allows it: a bad commit never takes a client's alerting down.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from whisperer.operator.errors import WhispererError
from whisperer.operator.gitio import UntrustedRevisionError, fetch, remote_revision, verify_head
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import API_VERSION, CONFIG_KINDS, GitSource, Resource
from whisperer.operator.services.readiness import company_verdict
from whisperer.operator.services.tenancy import namespace_name

FIELD_MANAGER = "alert-whisperer-gitops"
ALLOWED = {k.info.kind: k for k in CONFIG_KINDS}
Body = dict[str, Any]


@dataclass(frozen=True)
class FileError:
    """Why one document of one file was refused."""

    file: str
    document: int
    message: str

    def as_status(self) -> dict[str, Any]:
        """The GitSource status form."""
        return {"file": self.file, "document": self.document, "message": self.message[:4096]}


@dataclass(frozen=True)
class Doc:
    """One YAML document of the repo, parsed."""

    file: str
    index: int
    body: Body
    kind: type[Resource]

    @property
    def id(self) -> str:
        """namespace_name_group_kind, as Flux writes inventory ids."""
        meta = self.body["metadata"]
        return f"{meta.get('namespace', '')}_{meta['name']}_alertwhisperer.io_{self.kind.info.kind}"


class SyncStepError(WhispererError):
    """A step failed; `reason` is the condition type, `cause` the step condition's reason
    when more precise than the step (SignatureRefused), `errors` the per-file errors."""

    def __init__(
        self,
        reason: str,
        message: str,
        errors: Iterable[FileError] = (),
        *,
        cause: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.cause = cause
        self.errors = list(errors)
        self.revision: str | None = None


@dataclass
class Outcome:
    """What a sync did."""

    revision: str
    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    drifted: list[str] = field(default_factory=list)
    inventory: list[dict[str, str]] = field(default_factory=list)
    fetched: bool = True  # False: the revision was unchanged and its last build reused


def build(root: Path, path: str) -> list[Doc]:
    """Every YAML document under `path` (subfolders, multi-document files); only config
    kinds, never a Secret. All problems at once, each naming the file and document."""
    base = (root / path).resolve()
    if not base.is_relative_to(root.resolve()):
        raise SyncStepError("BuildFailed", f"path {path!r} leaves the repository")
    if not base.exists():
        return []  # git keeps no empty folders: an emptied path is simply gone
    docs: list[Doc] = []
    errors: list[FileError] = []
    for file in sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml")):
        name = str(file.relative_to(root))
        try:
            loaded = list(yaml.safe_load_all(file.read_text()))
        except yaml.YAMLError as exc:
            errors.append(FileError(name, 0, f"invalid YAML: {exc}".replace("\n", " ")))
            continue
        for index, body in enumerate(loaded):
            if body is None:
                continue
            if not isinstance(body, dict) or "kind" not in body:
                errors.append(FileError(name, index, "not a Kubernetes object (no kind)"))
                continue
            kind = body.get("kind")
            if kind == "Secret":
                errors.append(
                    FileError(
                        name,
                        index,
                        "a Secret in git is refused: credentials "
                        "never live in the repo in clear text",
                    )
                )
            elif body.get("apiVersion") != API_VERSION or kind not in ALLOWED:
                errors.append(
                    FileError(
                        name,
                        index,
                        f"{body.get('apiVersion')}/{kind} is not "
                        f"a config kind ({', '.join(sorted(ALLOWED))})",
                    )
                )
            else:
                docs.append(Doc(name, index, body, ALLOWED[str(kind)]))
    if errors:
        raise SyncStepError("BuildFailed", f"{len(errors)} document(s) refused", errors)
    return docs


def validate(docs: list[Doc]) -> None:
    """The models that generate the CRDs, then references across objects."""
    errors: list[FileError] = []
    models: dict[str, list[tuple[Doc, Any]]] = {}
    for doc in docs:
        try:
            model = doc.kind.from_body(doc.body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(FileError(doc.file, doc.index, f"{where}: {first['msg']}"))
            continue
        models.setdefault(doc.kind.info.kind, []).append((doc, model))
    seen: dict[str, Doc] = {}
    for doc in docs:
        if doc.id in seen:
            errors.append(
                FileError(doc.file, doc.index, f"{doc.id} is also defined in {seen[doc.id].file}")
            )
        seen[doc.id] = doc
    names = {kind: {m.metadata.name for _, m in items} for kind, items in models.items()}
    for doc, company in models.get("Company", []):
        # The operator's own readiness checks (services/readiness): the same verdict here
        # keeps a company that would not become Ready out of the cluster.
        verdict = company_verdict(
            company,
            sla_policies=names.get("SLAPolicy", set()),
            missing="is not in the repository",
        )
        if not verdict.ready:
            errors.append(FileError(doc.file, doc.index, f"{verdict.reason}: {verdict.message}"))
    users: dict[str, str] = {}
    for doc, tech in models.get("Technician", []):
        for company in tech.spec.companies:
            if company not in names.get("Company", set()):
                errors.append(
                    FileError(
                        doc.file,
                        doc.index,
                        f"serves company {company!r}, which is not in the repository",
                    )
                )
        if tech.spec.username in users:
            errors.append(
                FileError(
                    doc.file,
                    doc.index,
                    f"username {tech.spec.username!r} is "
                    f"also technician {users[tech.spec.username]!r}'s",
                )
            )
        users[tech.spec.username] = tech.metadata.name
    for doc, rule in models.get("RoutingRule", []):
        for tech in rule.spec.preferred_technicians:
            if tech not in names.get("Technician", set()):
                errors.append(
                    FileError(
                        doc.file,
                        doc.index,
                        f"preferredTechnicians names {tech!r}, which is not in the repository",
                    )
                )
        for company in rule.spec.match.companies:
            if company not in names.get("Company", set()):
                errors.append(
                    FileError(
                        doc.file,
                        doc.index,
                        f"match.companies names {company!r}, which is not in the repository",
                    )
                )
    errors.extend(_signal_rule_conflicts(models.get("SignalRule", [])))
    errors.extend(_channel_problems(models.get("NotificationChannel", []), models))
    if errors:
        raise SyncStepError("ValidationFailed", f"{len(errors)} document(s) invalid", errors)


def _signal_rule_conflicts(rules: list[tuple[Doc, Any]]) -> list[FileError]:
    """A signal has one category; a pattern belongs to one rule for a given tool (the later
    rule would never see it)."""
    errors: list[FileError] = []
    categories: dict[str, tuple[str, str]] = {}  # signal -> (category, rule)
    claimed: dict[str, list[tuple[frozenset[str], str]]] = {}  # pattern -> (sources, rule)
    ordered = sorted(rules, key=lambda item: (item[1].spec.order, item[1].metadata.name))
    for doc, rule in ordered:
        spec, name = rule.spec, rule.metadata.name
        first = categories.setdefault(spec.signal, (spec.category, name))
        if first[0] != spec.category:
            errors.append(
                FileError(
                    doc.file,
                    doc.index,
                    f"signal {spec.signal!r} has category {first[0]!r} in SignalRule "
                    f"{first[1]!r}, not {spec.category!r}: a signal has one category",
                )
            )
        sources = frozenset(str(s) for s in spec.sources)
        for pattern in spec.patterns:
            for other_sources, other in claimed.get(pattern.lower(), []):
                if not sources or not other_sources or sources & other_sources:
                    errors.append(
                        FileError(
                            doc.file,
                            doc.index,
                            f"pattern {pattern!r} is also SignalRule {other!r}'s, "
                            "which is tried first",
                        )
                    )
                    break
            claimed.setdefault(pattern.lower(), []).append((sources, name))
    return errors


def _channel_problems(
    channels: list[tuple[Doc, Any]], models: dict[str, list[tuple[Doc, Any]]]
) -> list[FileError]:
    """One default email channel and one default sms channel at most; a technician's
    channels are in the repository."""
    errors: list[FileError] = []
    defaults: dict[str, str] = {}  # medium -> channel
    for doc, channel in sorted(channels, key=lambda item: item[1].metadata.name):
        if not channel.spec.default:
            continue
        medium, name = channel.spec.medium, channel.metadata.name
        if medium in defaults:
            errors.append(
                FileError(
                    doc.file,
                    doc.index,
                    f"NotificationChannel {defaults[medium]!r} is already the default "
                    f"{medium} channel: one default {medium} channel at most",
                )
            )
        defaults.setdefault(medium, name)
    names = {channel.metadata.name for _, channel in channels}
    for doc, tech in models.get("Technician", []):
        for wanted in tech.spec.notifications.channels:
            if wanted not in names:
                errors.append(
                    FileError(
                        doc.file,
                        doc.index,
                        f"notifications.channels names {wanted!r}, which is not a "
                        "NotificationChannel in the repository",
                    )
                )
    return errors


def _in_use(kube: KubeClient, plural: str, name: str, listed: dict[str, list[Body]]) -> str | None:
    """Why an object that left git must stay for now, or None. `listed` caches the
    cluster-wide lists for one prune pass, so each is read once however much is pruned."""

    def everywhere(kind: str) -> list[Body]:
        if kind not in listed:
            listed[kind] = kube.list(kind)
        return listed[kind]

    if plural == "slapolicies":
        users = [
            c["metadata"]["name"]
            for c in everywhere("companies")
            if c["spec"].get("slaPolicyRef", {}).get("name") == name
        ]
        if users:
            return f"companies {', '.join(sorted(users))} still follow it"
    if plural == "companies":
        open_incidents = [
            i
            for i in kube.list("incidents", namespace_name(name))
            if i.get("status", {}).get("phase") != "Resolved"
        ]
        if open_incidents:
            return f"{len(open_incidents)} incident(s) still open"
    if plural == "runbooks":
        running = [
            r
            for r in everywhere("runbookexecutions")
            if r["spec"]["runbookRef"]["name"] == name
            and r.get("status", {}).get("phase") in ("Approved", "Running")
        ]
        if running:
            return f"{len(running)} execution(s) still running it"
    return None


def apply_and_prune(
    kube: KubeClient,
    source: GitSource,
    docs: list[Doc],
    revision: str,
    previous: list[dict[str, str]],
) -> Outcome:
    """Apply every document (server-side, taking back hand edits), then prune what left."""
    outcome = Outcome(revision=revision)
    for doc in docs:
        plural = doc.kind.info.plural
        meta = doc.body["metadata"]
        namespace = meta.get("namespace") if doc.kind.info.namespaced else None
        try:
            live = kube.get(plural, meta["name"], namespace)
        except WhispererError:
            live = None
        try:
            applied = kube.apply_custom(plural, doc.body, field_manager=FIELD_MANAGER)
        except WhispererError as exc:
            raise SyncStepError(
                "ApplyFailed",
                f"{doc.file}[{doc.index}]: {exc}",
                [FileError(doc.file, doc.index, str(exc))],
            ) from exc
        if live is not None and live.get("spec") != applied.get("spec"):
            outcome.drifted.append(doc.id)
        outcome.applied.append(doc.id)
        outcome.inventory.append({"id": doc.id, "v": doc.body["apiVersion"].split("/")[-1]})
    if not source.spec.prune:
        return outcome
    current = {d.id for d in docs}
    listed: dict[str, list[Body]] = {}
    for entry in previous:
        if entry["id"] in current:
            continue
        namespace, name, _, kind = entry["id"].split("_", 3)
        if kind not in ALLOWED:
            continue
        gone = ALLOWED[kind].info.plural
        reason = _in_use(kube, gone, name, listed)
        if reason:
            outcome.kept[entry["id"]] = reason
            outcome.inventory.append(entry)  # still ours: prune it once it is free
            continue
        try:
            kube.delete_custom(gone, name, namespace or None)
        except WhispererError as exc:
            raise SyncStepError("PruneFailed", f"prune {entry['id']}: {exc}") from exc
        outcome.pruned.append(entry["id"])
    return outcome


@dataclass(frozen=True)
class Built:
    """A revision that was fetched, verified, built and validated, with what it was built
    from (URL, ref, path, signature settings and trusted keys)."""

    inputs: tuple[str, ...]
    revision: str
    docs: list[Doc]


class BuildCache:
    """The last good build of each GitSource, so an unchanged revision is not fetched and
    built again at every interval (its objects are still applied: drift is put back)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._built: dict[str, Built] = {}

    def get(self, key: str) -> Built | None:
        """The last good build of a GitSource (by namespace/name)."""
        return self._built.get(key)

    def put(self, key: str, built: Built) -> None:
        """Remember a good build (the oldest is dropped when full)."""
        self._built.pop(key, None)
        self._built[key] = built
        while len(self._built) > self._size:
            del self._built[next(iter(self._built))]


def _refuse_empty(
    source: GitSource, docs: list[Doc], revision: str, previous: list[dict[str, str]]
) -> None:
    """A revision with no objects would prune everything: only when the source allows it."""
    if not docs and previous and not source.spec.allow_empty:
        raise SyncStepError(
            "BuildFailed",
            f"revision {revision[:12]} has no objects; "
            "refusing to prune everything (set spec.allowEmpty to allow it)",
        )


def sync(
    kube: KubeClient,
    source: GitSource,
    *,
    previous: list[dict[str, str]],
    token: str | None = None,
    ssh_key: str | None = None,
    trusted_keys: str | None = None,
    cache: BuildCache | None = None,
) -> Outcome:
    """fetch (and verify), build, validate, apply, prune; raises SyncStepError with the
    failing step. With `cache`, the remote's revision is listed first and an unchanged one
    is applied from the last good build without fetching."""
    spec_ref = source.spec.ref
    kind = "commit" if spec_ref.commit else "tag" if spec_ref.tag else "branch"
    ref = spec_ref.commit or spec_ref.tag or spec_ref.branch or "main"
    key = f"{source.metadata.namespace}/{source.metadata.name}"
    inputs = (
        source.spec.url,
        kind,
        ref,
        source.spec.path,
        source.spec.verify.model_dump_json() if source.spec.verify else "",
        hashlib.sha256((trusted_keys or "").encode()).hexdigest(),
    )
    if cache is not None:
        try:
            head = remote_revision(source.spec.url, ref, kind=kind, token=token, ssh_key=ssh_key)
        except WhispererError as exc:
            raise SyncStepError("FetchFailed", str(exc)) from exc
        built = cache.get(key)
        if built is not None and built.inputs == inputs and built.revision == head:
            try:
                _refuse_empty(source, built.docs, head, previous)
            except SyncStepError as failed:
                failed.revision = head
                raise
            outcome = apply_and_prune(kube, source, built.docs, head, previous)
            outcome.fetched = False
            return outcome
    with tempfile.TemporaryDirectory(prefix="whisperer-gitsource-") as tmp:
        try:
            revision = fetch(source.spec.url, ref, Path(tmp), token=token, ssh_key=ssh_key)
        except WhispererError as exc:
            raise SyncStepError("FetchFailed", str(exc)) from exc
        if source.spec.verify is not None:
            try:
                verify_head(
                    Path(tmp),
                    trusted_keys=trusted_keys or "",
                    signature_format=source.spec.verify.format,
                )
            except WhispererError as exc:
                refused = SyncStepError(
                    "FetchFailed",
                    str(exc),
                    cause="SignatureRefused" if isinstance(exc, UntrustedRevisionError) else None,
                )
                refused.revision = revision
                raise refused from exc
        try:
            docs = build(Path(tmp), source.spec.path)
            validate(docs)
            _refuse_empty(source, docs, revision, previous)
            if cache is not None:
                cache.put(key, Built(inputs, revision, docs))
            return apply_and_prune(kube, source, docs, revision, previous)
        except SyncStepError as failed:
            failed.revision = revision
            raise
