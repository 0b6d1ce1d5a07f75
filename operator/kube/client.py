"""A small typed wrapper over the official client; it maps the client's errors into ours once."""

from __future__ import annotations

import base64
import builtins
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from whisperer.operator.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    PermanentError,
    UnavailableError,
    WhispererError,
)
from whisperer.operator.kube.events import COMPONENT, event_body
from whisperer.operator.models.v1alpha1 import GROUP, VERSION

Body = dict[str, Any]


def load_api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ApiClient from an explicit kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path or (Path.home() / ".kube" / "config").exists():
        return config.new_client_from_config(  # type: ignore[no-untyped-call,unused-ignore]
            config_file=path, context=context
        )
    config.load_incluster_config()  # type: ignore[no-untyped-call,unused-ignore]
    return client.ApiClient()


def context_namespace(kubeconfig: str | None = None, context: str | None = None) -> str | None:
    """The namespace the kubeconfig's (current or named) context names, if any: kubectl's
    default namespace."""
    try:
        contexts, current = config.list_kube_config_contexts(  # type: ignore[no-untyped-call,unused-ignore]
            config_file=kubeconfig or os.environ.get("KUBECONFIG")
        )
    except Exception:  # no kubeconfig, or in a pod: no context namespace
        return None
    chosen = next((c for c in contexts if c["name"] == context), None) if context else current
    found = (chosen or {}).get("context", {}).get("namespace")
    return str(found) if found else None


@dataclass(frozen=True)
class Connection:
    """What an HTTP client needs to reach the API server as the kubeconfig's user."""

    server: str
    ca_path: str | None
    insecure: bool
    scheme: str | None
    token: str | None
    certificate_path: str | None
    private_key_path: str | None


def load_connection(kubeconfig: str | None = None, context: str | None = None) -> Connection:
    """The server and credentials, read when called ($KUBECONFIG at call time, not import)."""
    api = load_api_client(kubeconfig, context)
    cfg = api.configuration
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = (header or "").rpartition(" ")
    return Connection(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        scheme=scheme or ("Bearer" if token else None),
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


def _message(exc: ApiException) -> str:
    try:
        status = json.loads(exc.body or "{}")
    except ValueError:
        return str(exc.reason)
    return str(status.get("message") or exc.reason)


def error_for_status(status: int, message: str) -> WhispererError:
    """Our error for an API server answer: the one mapping both clients use."""
    if status == 404:
        return NotFoundError(message)
    if status in (401, 403):
        return ForbiddenError(message)
    if status in (400, 422):
        return InvalidError(message)
    if status == 409:
        return ConflictError(message, delay=1)
    if status in (0, 429, 500, 502, 503, 504):
        return UnavailableError(message, delay=5)
    return PermanentError(message)


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Re-raise the client's errors as ours, keeping the API server's own message."""
    try:
        yield
    except ApiException as exc:
        raise error_for_status(int(exc.status or 0), f"{what}: {_message(exc)}") from exc
    except (HTTPError, OSError) as exc:
        raise UnavailableError(f"{what}: the API server did not answer: {exc}", delay=5) from exc


@dataclass(frozen=True)
class AccessReview:
    """RBAC's answer about another user (a SubjectAccessReview): allowed or not, and the
    authorizer's reason (and evaluation error), when it gave one."""

    allowed: bool
    reason: str = ""


def access_review_body(
    *,
    user: str,
    groups: builtins.list[str] | None,
    verb: str,
    resource: str,
    namespace: str | None,
    name: str | None,
) -> Body:
    """A SubjectAccessReview of `verb` on our `resource` for `user` in `groups` (none: the
    user alone), the body both clients send."""
    attributes = {"group": GROUP, "resource": resource, "verb": verb}
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    spec: Body = {"user": user, "resourceAttributes": attributes}
    if groups:
        spec["groups"] = builtins.list(groups)
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": spec,
    }


def access_review_of(status: Body | None) -> AccessReview:
    """The answer in a SubjectAccessReview's status."""
    status = status or {}
    why = "; ".join(
        str(part) for part in (status.get("reason"), status.get("evaluationError")) if part
    )
    return AccessReview(allowed=bool(status.get("allowed")), reason=why)


class KubeClient:
    """What the operator, the shim and the plugin need from the API server, and no more."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | None = None, context: str | None = None
    ) -> KubeClient:
        """A client for the cluster the kubeconfig (or the pod's service account) names."""
        return cls(load_api_client(kubeconfig, context))

    def close(self) -> None:
        """Release the connection pool."""
        self.api_client.close()

    def get(self, plural: str, name: str, namespace: str | None = None) -> Body:
        """One object of our API group."""
        with translated_errors(f"get {plural}/{name}"):
            if namespace:
                result = self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, name
                )
            else:
                result = self._custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        return cast(Body, result)

    def list(self, plural: str, namespace: str | None = None) -> list[Body]:
        """Every object of a kind, in one namespace or (namespace None) everywhere."""
        with translated_errors(f"list {plural}"):
            if namespace:
                result = self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural
                )
            else:
                result = self._custom.list_cluster_custom_object(GROUP, VERSION, plural)
        return list(cast(Body, result).get("items", []))

    def create(self, plural: str, body: Body, namespace: str | None = None) -> Body:
        """Create an object of our API group."""
        name = body.get("metadata", {}).get("name", "?")
        with translated_errors(f"create {plural}/{name}"):
            if namespace:
                result = self._custom.create_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, body
                )
            else:
                result = self._custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        return cast(Body, result)

    def patch_status(
        self, plural: str, name: str, status: Body, namespace: str | None = None
    ) -> Body:
        """Merge-patch the status subresource."""
        patch = {"status": status}
        with translated_errors(f"patch {plural}/{name}/status"):
            if namespace:
                result = self._custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, plural, name, patch
                )
            else:
                result = self._custom.patch_cluster_custom_object_status(
                    GROUP, VERSION, plural, name, patch
                )
        return cast(Body, result)

    def patch(self, plural: str, name: str, patch: Body, namespace: str | None = None) -> Body:
        """Merge-patch one of our objects (spec or metadata; status is the operator's)."""
        opts: dict[str, Any] = {"_content_type": "application/merge-patch+json"}
        with translated_errors(f"patch {plural}/{name}"):
            if namespace:
                result = self._custom.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, name, patch, **opts
                )
            else:
                result = self._custom.patch_cluster_custom_object(
                    GROUP, VERSION, plural, name, patch, **opts
                )
        return cast(Body, result)

    def list_with_version(
        self, plural: str, namespace: str | None = None
    ) -> tuple[builtins.list[Body], str]:
        """Every object of a kind and the list's resourceVersion (to watch from)."""
        with translated_errors(f"list {plural}"):
            if namespace:
                result = self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural
                )
            else:
                result = self._custom.list_cluster_custom_object(GROUP, VERSION, plural)
        body = cast(Body, result)
        return list(body.get("items", [])), str(body.get("metadata", {}).get("resourceVersion"))

    def watch(
        self,
        plural: str,
        namespace: str | None = None,
        *,
        resource_version: str,
        timeout_seconds: int = 3600,
    ) -> Iterator[tuple[str, Body]]:
        """(event type, object) of a kind's changes after `resource_version`, blocking."""
        from kubernetes import watch as k8s_watch

        stream = k8s_watch.Watch()
        if namespace:
            call: Any = self._custom.list_namespaced_custom_object
            args: tuple[Any, ...] = (GROUP, VERSION, namespace, plural)
        else:
            call = self._custom.list_cluster_custom_object
            args = (GROUP, VERSION, plural)
        with translated_errors(f"watch {plural}"):
            for event in stream.stream(
                call, *args, resource_version=resource_version, timeout_seconds=timeout_seconds
            ):
                yield str(event["type"]), cast(Body, event["object"])

    def can_i(
        self, verb: str, resource: str, namespace: str | None = None, name: str | None = None
    ) -> bool:
        """Whether the caller may `verb` our `resource` (a SelfSubjectAccessReview)."""
        api = client.AuthorizationV1Api(self.api_client)
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    group=GROUP, resource=resource, verb=verb, namespace=namespace, name=name
                )
            )
        )
        with translated_errors(f"can-i {verb} {resource}"):
            result = api.create_self_subject_access_review(review)
        return bool(result.status and result.status.allowed)

    def may(
        self,
        user: str,
        groups: builtins.list[str] | None,
        verb: str,
        resource: str,
        namespace: str | None = None,
        name: str | None = None,
    ) -> AccessReview:
        """Whether `user`, in `groups`, may `verb` our `resource` (a SubjectAccessReview:
        the caller needs `create` on subjectaccessreviews)."""
        api = client.AuthorizationV1Api(self.api_client)
        body = access_review_body(
            user=user, groups=groups, verb=verb, resource=resource, namespace=namespace, name=name
        )
        with translated_errors(f"access review of {user}: {verb} {resource}"):
            result = api.create_subject_access_review(body)
        status = result.status
        return access_review_of(
            {
                "allowed": status.allowed,
                "reason": status.reason,
                "evaluationError": status.evaluation_error,
            }
            if status
            else None
        )

    def read_config_map(self, name: str, namespace: str) -> dict[str, str] | None:
        """A ConfigMap's data, or None when it does not exist."""
        try:
            with translated_errors(f"get configmap {namespace}/{name}"):
                found = self._core.read_namespaced_config_map(name, namespace)
        except NotFoundError:
            return None
        return dict(found.data or {})

    def apply_config_map(
        self,
        name: str,
        namespace: str,
        data: dict[str, str],
        *,
        labels: dict[str, str],
        field_manager: str,
    ) -> None:
        """Server-side apply of a ConfigMap's data and labels."""
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": data,
        }
        with translated_errors(f"apply configmap {namespace}/{name}"):
            self._core.patch_namespaced_config_map(
                name,
                namespace,
                body,
                field_manager=field_manager,
                force=True,
                _content_type="application/apply-patch+yaml",
            )

    # -- built-in kinds the operator manages ------------------------------------------------

    def apply(self, body: Body, *, field_manager: str) -> None:
        """Server-side apply of a Namespace, RoleBinding, ClusterRole or ClusterRoleBinding."""
        kind, meta = body["kind"], body["metadata"]
        what = f"apply {kind} {meta.get('namespace', '')}/{meta['name']}"
        opts: dict[str, Any] = {
            "field_manager": field_manager,
            "force": True,
            "_content_type": "application/apply-patch+yaml",
        }
        rbac = client.RbacAuthorizationV1Api(self.api_client)
        with translated_errors(what):
            if kind == "Namespace":
                self._core.patch_namespace(meta["name"], body, **opts)
            elif kind == "RoleBinding":
                rbac.patch_namespaced_role_binding(meta["name"], meta["namespace"], body, **opts)
            elif kind == "ClusterRole":
                rbac.patch_cluster_role(meta["name"], body, **opts)
            elif kind == "ClusterRoleBinding":
                rbac.patch_cluster_role_binding(meta["name"], body, **opts)
            else:
                raise PermanentError(f"{what}: kind {kind} is not applied by the operator")

    def apply_custom(self, plural: str, body: Body, *, field_manager: str) -> Body:
        """Server-side apply of one of our objects, taking back fields others changed."""
        meta = body["metadata"]
        namespace = meta.get("namespace")
        opts: dict[str, Any] = {
            "field_manager": field_manager,
            "force": True,
            "_content_type": "application/apply-patch+yaml",
        }
        with translated_errors(f"apply {plural} {namespace or ''}/{meta['name']}"):
            if namespace:
                result = self._custom.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, meta["name"], body, **opts
                )
            else:
                result = self._custom.patch_cluster_custom_object(
                    GROUP, VERSION, plural, meta["name"], body, **opts
                )
        return cast(Body, result)

    def delete_custom(self, plural: str, name: str, namespace: str | None = None) -> bool:
        """Delete one of our objects; False when it was already gone."""
        try:
            with translated_errors(f"delete {plural} {namespace or ''}/{name}"):
                if namespace:
                    self._custom.delete_namespaced_custom_object(
                        GROUP, VERSION, namespace, plural, name
                    )
                else:
                    self._custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)
        except NotFoundError:
            return False
        return True

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete a built-in object; False when it was already gone."""
        rbac = client.RbacAuthorizationV1Api(self.api_client)
        calls = {
            "Namespace": lambda: self._core.delete_namespace(name),
            "Secret": lambda: self._core.delete_namespaced_secret(name, namespace or ""),
            "RoleBinding": lambda: rbac.delete_namespaced_role_binding(name, namespace or ""),
            "ClusterRole": lambda: rbac.delete_cluster_role(name),
            "ClusterRoleBinding": lambda: rbac.delete_cluster_role_binding(name),
        }
        try:
            with translated_errors(f"delete {kind} {namespace or ''}/{name}"):
                calls[kind]()
        except NotFoundError:
            return False
        return True

    def label_namespace(self, name: str, labels: dict[str, str | None]) -> None:
        """Merge labels into a namespace (None removes one)."""
        with translated_errors(f"label namespace {name}"):
            self._core.patch_namespace(name, {"metadata": {"labels": labels}})

    def namespace_exists(self, name: str) -> bool:
        """Whether a namespace exists (and is not being deleted)."""
        try:
            with translated_errors(f"get namespace {name}"):
                ns = self._core.read_namespace(name)
        except NotFoundError:
            return False
        return ns.metadata is not None and ns.metadata.deletion_timestamp is None

    def read_secret(self, name: str, namespace: str) -> tuple[dict[str, str], str] | None:
        """A Secret's decoded data and resourceVersion, or None when it does not exist."""
        try:
            with translated_errors(f"get secret {namespace}/{name}"):
                secret = self._core.read_namespaced_secret(name, namespace)
        except NotFoundError:
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
        version = secret.metadata.resource_version if secret.metadata else None
        return data, str(version)

    def list_secrets(
        self, namespace: str, *, label_selector: str
    ) -> builtins.list[tuple[str, dict[str, str]]]:
        """(name, decoded data) of the Secrets in a namespace matching a label selector."""
        with translated_errors(f"list secrets in {namespace}"):
            found = self._core.list_namespaced_secret(namespace, label_selector=label_selector)
        return [
            (
                str(s.metadata.name if s.metadata else ""),
                {k: base64.b64decode(v).decode() for k, v in (s.data or {}).items()},
            )
            for s in found.items
        ]

    def create_secret(self, body: Body) -> None:
        """Create a Secret; ConflictError when it already exists."""
        meta = body["metadata"]
        with translated_errors(f"create secret {meta['namespace']}/{meta['name']}"):
            self._core.create_namespaced_secret(meta["namespace"], cast(Any, body))

    def replace_secret(self, body: Body, *, resource_version: str) -> None:
        """Replace a Secret only if nobody changed it since resource_version (else Conflict)."""
        meta = body["metadata"]
        body = {**body, "metadata": {**meta, "resourceVersion": resource_version}}
        with translated_errors(f"replace secret {meta['namespace']}/{meta['name']}"):
            self._core.replace_namespaced_secret(meta["name"], meta["namespace"], cast(Any, body))

    def record_event(
        self,
        involved: Body,
        *,
        reason: str,
        message: str,
        key: str,
        type: str = "Normal",
        component: str = COMPONENT,
        now: datetime | None = None,
    ) -> bool:
        """Post an Event once: its name derives from the object and `key`, so posting the
        same event again (after a restart) is refused as a duplicate. False if it was."""
        event = event_body(
            involved,
            reason=reason,
            message=message,
            key=key,
            now=(now or datetime.now(UTC)),
            type=type,
            component=component,
        )
        namespace = event["metadata"]["namespace"]
        try:
            with translated_errors(f"record event {reason} on {involved['metadata']['name']}"):
                self._core.create_namespaced_event(namespace, cast(Any, event))
        except ConflictError:
            return False
        return True

    def whoami(self) -> Body:
        """Who the API server says we are (a SelfSubjectReview)."""
        api = client.AuthenticationV1Api(self.api_client)
        review = client.V1SelfSubjectReview(
            api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"
        )
        with translated_errors("whoami"):
            result = api.create_self_subject_review(review)
        info = result.status.user_info if result.status else None
        if info is None:
            raise PermanentError("whoami: the API server returned no user info")
        return {
            "username": info.username,
            "uid": info.uid,
            "groups": list(info.groups or []),
            "extra": dict(info.extra or {}),
        }

    def server_version(self) -> str:
        """The API server's version string."""
        with translated_errors("version"):
            info = client.VersionApi(self.api_client).get_code()
        return str(info.git_version)


__all__ = [
    "AccessReview",
    "Connection",
    "KubeClient",
    "access_review_body",
    "access_review_of",
    "context_namespace",
    "load_api_client",
    "load_connection",
]
