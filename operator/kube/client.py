"""A small typed wrapper over the official client; it maps the client's errors into ours once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
)
from whisperer.operator.models.v1alpha1 import GROUP, VERSION

Body = dict[str, Any]


def load_api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ApiClient from an explicit kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path or (Path.home() / ".kube" / "config").exists():
        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context
        )
    config.load_incluster_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


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


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Re-raise the client's errors as ours, keeping the API server's own message."""
    try:
        yield
    except ApiException as exc:
        message = f"{what}: {_message(exc)}"
        if exc.status == 404:
            raise NotFoundError(message) from exc
        if exc.status in (401, 403):
            raise ForbiddenError(message) from exc
        if exc.status in (400, 422):
            raise InvalidError(message) from exc
        if exc.status == 409:
            raise ConflictError(message, delay=1) from exc
        if exc.status in (429, 500, 502, 503, 504) or exc.status == 0:
            raise UnavailableError(message, delay=5) from exc
        raise PermanentError(message) from exc
    except (HTTPError, OSError) as exc:
        raise UnavailableError(f"{what}: the API server did not answer: {exc}", delay=5) from exc


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


__all__ = ["Connection", "KubeClient", "load_api_client", "load_connection"]
