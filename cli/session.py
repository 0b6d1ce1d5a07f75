"""The caller's own access to the API server: their kubeconfig, their namespace scope, and
refusals turned into one line that names what was refused. Never the operator's identity:
RBAC and the admission policies decide what the caller may do."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from whisperer.operator.clock import SystemClock, rfc3339
from whisperer.operator.errors import ConflictError, ForbiddenError, NotFoundError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.client import context_namespace
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE, namespace_name

Body = dict[str, Any]
T = TypeVar("T")


class UsageError(Exception):
    """The command line asks for something contradictory (exit 2)."""


class RefusedError(ForbiddenError):
    """The API server refused a request: what (verb, resource, namespace) and why."""

    def __init__(self, verb: str, resource: str, namespace: str | None, reason: str) -> None:
        where = f" in namespace {namespace}" if namespace else ""
        super().__init__(f"refused: {verb} {resource}{where}: {reason}")
        self.verb, self.resource, self.namespace, self.reason = verb, resource, namespace, reason


def _reason(exc: Exception) -> str:
    """The API server's own message, without our `what:` prefix."""
    text = str(exc)
    _, sep, rest = text.partition(": ")
    return rest if sep else text


def check_scope(args: argparse.Namespace) -> None:
    """Contradictory scope flags are a usage error, found before any request."""
    all_ns = getattr(args, "all_namespaces", False)
    ns = getattr(args, "namespace", None)
    company = getattr(args, "company", None)
    if all_ns and (ns or company):
        raise UsageError("-A/--all-namespaces cannot be used with -n or --company")
    if ns and company and ns != namespace_name(company):
        raise UsageError(f"-n {ns} and --company {company} name different namespaces")


@dataclass
class Session:
    """What every command runs with."""

    args: argparse.Namespace
    kube: KubeClient
    clock: SystemClock = field(default_factory=SystemClock)
    _who: Body | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    """What a command looked up once and uses again (a watch's filters)."""

    # -- who and when ------------------------------------------------------------------------

    def user(self) -> str:
        """The caller's user name, as the API server knows it."""
        return str(self._whoami()["username"])

    def groups(self) -> list[str]:
        """The caller's groups, as the API server knows them."""
        return [str(g) for g in self._whoami()["groups"]]

    def _whoami(self) -> Body:
        if self._who is None:
            self._who = self.kube.whoami()
        return self._who

    def now(self) -> datetime:
        return self.clock.now()

    def stamp(self) -> str:
        return rfc3339(self.now())

    # -- where -------------------------------------------------------------------------------

    def namespace(self, *, default_all: bool = True) -> str | None:
        """The namespace the flags name (None: every namespace). `-A` with `-n` or
        `--company` is a usage error."""
        args = self.args
        check_scope(args)
        all_ns = getattr(args, "all_namespaces", False)
        ns = getattr(args, "namespace", None)
        company = getattr(args, "company", None)
        if all_ns:
            return None
        if ns:
            return str(ns)
        if company:
            return namespace_name(str(company))
        found = context_namespace(args.kubeconfig, args.context)
        if found and found != "default":
            return found
        return None if default_all else PLATFORM_NAMESPACE

    def need_namespace(self, what: str) -> str:
        """A namespace for a command that acts on one object."""
        ns = self.namespace()
        if ns is None:
            raise UsageError(f"{what}: name the company with --company or the namespace with -n")
        return ns

    # -- requests, with refusals said in one line -------------------------------------------

    def _call(self, verb: str, resource: str, namespace: str | None, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ForbiddenError as exc:
            if isinstance(exc, RefusedError):
                raise
            raise RefusedError(verb, resource, namespace, _reason(exc)) from exc

    def get(self, plural: str, name: str, namespace: str | None = None) -> Body:
        return self._call(
            "get", f"{plural}/{name}", namespace, lambda: self.kube.get(plural, name, namespace)
        )

    def list(self, plural: str, namespace: str | None = None) -> list[Body]:
        def run() -> list[Body]:
            return self.kube.list(plural, namespace)

        try:
            return self._call("list", plural, namespace, run)
        except RefusedError as exc:
            if namespace is None:
                raise RefusedError(
                    "list",
                    plural,
                    None,
                    f"{exc.reason} (name the company with --company or a namespace with -n)",
                ) from exc
            raise

    def create(self, plural: str, body: Body, namespace: str | None = None) -> Body:
        name = body.get("metadata", {}).get("name") or body.get("metadata", {}).get(
            "generateName", "?"
        )
        return self._call(
            "create",
            f"{plural}/{name}",
            namespace,
            lambda: self.kube.create(plural, body, namespace),
        )

    def patch(self, plural: str, name: str, patch: Body, namespace: str | None = None) -> Body:
        return self._call(
            "patch",
            f"{plural}/{name}",
            namespace,
            lambda: self.kube.patch(plural, name, patch, namespace),
        )

    def update(
        self,
        plural: str,
        name: str,
        namespace: str | None,
        change: Callable[[Body], Body | None],
        *,
        attempts: int = 5,
    ) -> Body:
        """Read the object, let `change` compute a merge patch from it (None: nothing to
        do), and send it guarded by the resourceVersion read; on a conflict (someone else
        wrote meanwhile), read again and recompute."""
        for attempt in range(attempts):
            body = self.get(plural, name, namespace)
            patch = change(body)
            if patch is None:
                return body
            patch.setdefault("metadata", {})["resourceVersion"] = body["metadata"][
                "resourceVersion"
            ]
            try:
                return self.patch(plural, name, patch, namespace)
            except ConflictError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def watch(
        self, plural: str, namespace: str | None, resource_version: str
    ) -> Iterator[tuple[str, Body]]:
        return self.kube.watch(plural, namespace, resource_version=resource_version)

    def exists(self, plural: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.get(plural, name, namespace)
        except NotFoundError:
            return False
        return True
