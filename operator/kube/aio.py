"""An asyncio client for our custom resources, for the hot paths: the webhook shim's alert
writes, and the operator's watches and incident and alert status writes.

The official client is synchronous (and costly per call); the shim writes alerts from many
concurrent requests and the operator places hundreds of alerts a second, so both talk to
the API server with aiohttp (already a dependency through Kopf) and map the answers into
the same errors as the synchronous wrapper.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import aiohttp

from whisperer.operator.errors import PermanentError, UnavailableError
from whisperer.operator.kube.client import (
    AccessReview,
    Connection,
    access_review_body,
    access_review_of,
    error_for_status,
    load_connection,
)
from whisperer.operator.models.v1alpha1 import GROUP, VERSION

Body = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


CORE = frozenset({"events", "secrets"})
"""The built-in (core/v1) kinds this client reaches; every other plural is ours."""


class ExpiredError(UnavailableError):
    """A watch's resourceVersion is too old (410 Gone): list again."""

    def __init__(self, status: int, what: str, text: str) -> None:
        super().__init__(f"{what}: {text[:300]}", delay=0)
        self.status = status


def _error(status: int, what: str, text: str) -> Exception:
    try:
        message = str(json.loads(text).get("message") or text)
    except ValueError:
        message = text[:500]
    return error_for_status(status, f"{what}: {message}")


class NotLeaderError(PermanentError):
    """A write refused before it was sent: this replica does not hold the leader's Lease
    (any more). Retrying cannot help; the leader that holds it does the work."""


class AsyncKube:
    """get, create and patch of alertwhisperer.io objects, over one pooled connection.

    `fence`, when set, is asked before every write (create, patch): False refuses it with a
    NotLeaderError before anything is sent (leader election: `LeaderElector.holds`)."""

    fence: Callable[[], bool] | None = None

    def __init__(self, conn: Connection, *, timeout: float = 10.0, pool: int = 100) -> None:
        self._conn = conn
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None
        self._base = conn.server.rstrip("/")

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, **kwargs: Any) -> AsyncKube:
        """A client for the cluster $KUBECONFIG (or the given file) names."""
        return cls(load_connection(kubeconfig), **kwargs)

    def _ssl(self) -> ssl.SSLContext | bool:
        if self._conn.insecure:
            return False
        ctx = ssl.create_default_context(cafile=self._conn.ca_path)
        if self._conn.certificate_path and self._conn.private_key_path:
            ctx.load_cert_chain(self._conn.certificate_path, self._conn.private_key_path)
        return ctx

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._conn.token:
                headers["Authorization"] = f"{self._conn.scheme or 'Bearer'} {self._conn.token}"
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl(), limit=self._pool),
                headers=headers,
                timeout=self._timeout,
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool (and give TLS connections a moment to shut down, as
        aiohttp asks, so no socket outlives its event loop)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
            await asyncio.sleep(0.25)

    def _path(self, plural: str, namespace: str | None, name: str | None = None) -> str:
        if plural in CORE:  # core/v1: the Events it writes, the channels' Secrets it reads
            path = f"{self._base}/api/v1"
            path += f"/namespaces/{namespace}/{plural}" if namespace else f"/{plural}"
            return f"{path}/{name}" if name else path
        path = f"{self._base}/apis/{GROUP}/{VERSION}"
        if namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{plural}"
        return f"{path}/{name}" if name else path

    async def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        body: Any = None,
        content_type: str = "",
        params: dict[str, str] | None = None,
        fenced: bool = True,
    ) -> Body:
        if fenced and method != "GET" and self.fence is not None and not self.fence():
            raise NotLeaderError(f"{what}: refused, this replica is not the leader")
        session = await self._client()
        headers = {"Content-Type": content_type or "application/json"} if body is not None else {}
        data = json.dumps(body, separators=(",", ":")) if body is not None else None
        try:
            async with session.request(
                method, url, data=data, headers=headers, params=params
            ) as response:
                text = await response.text()
                if response.status >= 300:
                    raise _error(response.status, what, text)
                return cast(Body, json.loads(text))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise UnavailableError(f"{what}: the API server did not answer: {exc!r}") from exc

    async def get(self, plural: str, name: str, namespace: str | None = None) -> Body:
        """One object."""
        return await self._request("GET", self._path(plural, namespace, name), f"get {name}")

    async def create(self, plural: str, body: Body, namespace: str | None = None) -> Body:
        """Create; ConflictError when it exists."""
        name = body.get("metadata", {}).get("name", "?")
        return await self._request(
            "POST", self._path(plural, namespace), f"create {plural}/{name}", body=body
        )

    async def patch(
        self, plural: str, name: str, patch: Body, namespace: str | None = None
    ) -> Body:
        """Merge-patch; with metadata.resourceVersion in the patch it is a compare-and-swap
        (ConflictError when the object changed)."""
        return await self._request(
            "PATCH",
            self._path(plural, namespace, name),
            f"patch {plural}/{name}",
            body=patch,
            content_type=MERGE_PATCH,
        )

    async def patch_status(
        self, plural: str, name: str, patch: Body, namespace: str | None = None
    ) -> Body:
        """Merge-patch the status subresource (`patch` holds `status`, and
        `metadata.resourceVersion` for a compare-and-swap)."""
        return await self._request(
            "PATCH",
            self._path(plural, namespace, name) + "/status",
            f"patch {plural}/{name}/status",
            body=patch,
            content_type=MERGE_PATCH,
        )

    async def list_page(
        self,
        plural: str,
        namespace: str | None = None,
        *,
        limit: int = 500,
        continue_: str | None = None,
    ) -> Body:
        """One page of a LIST (`metadata.continue` names the next; `resourceVersion` is the
        list's, to watch from)."""
        params = {"limit": str(limit)}
        if continue_:
            params["continue"] = continue_
        return await self._request(
            "GET", self._path(plural, namespace), f"list {plural}", params=params
        )

    async def list_all(
        self, plural: str, namespace: str | None = None, *, limit: int = 500
    ) -> tuple[list[Body], str]:
        """Every object of a kind, read page by page; and the resourceVersion to watch from."""
        items: list[Body] = []
        continue_: str | None = None
        while True:
            page = await self.list_page(plural, namespace, limit=limit, continue_=continue_)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            continue_ = meta.get("continue")
            if not continue_:
                return items, str(meta.get("resourceVersion") or "")

    async def watch(
        self, plural: str, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[Body]:
        """The watch events of a kind across namespaces, from `resource_version` (bookmarks
        included); ends when the server closes the stream. A 410 (too old) is an
        ExpiredError: list again."""
        session = await self._client()
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
        }
        url = self._path(plural, None)
        what = f"watch {plural}"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30)
        try:
            async with session.get(url, params=params, timeout=timeout) as response:
                if response.status >= 300:
                    raise _error(response.status, what, await response.text())
                buffer = b""
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    while (end := buffer.find(b"\n")) >= 0:
                        line, buffer = buffer[:end], buffer[end + 1 :]
                        if not line.strip():
                            continue
                        event = cast(Body, json.loads(line))
                        if event.get("type") == "ERROR":
                            status = event.get("object") or {}
                            code = int(status.get("code") or 500)
                            raise (ExpiredError if code == 410 else _error)(
                                code, what, json.dumps(status)
                            )
                        yield event
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise UnavailableError(f"{what}: the API server did not answer: {exc!r}") from exc

    async def may(
        self,
        user: str,
        groups: list[str] | None,
        verb: str,
        resource: str,
        namespace: str | None = None,
        name: str | None = None,
    ) -> AccessReview:
        """Whether `user`, in `groups` (none: the user alone), may `verb` our `resource`: a
        SubjectAccessReview, which changes nothing (so the leader fence does not apply)."""
        body = access_review_body(
            user=user, groups=groups, verb=verb, resource=resource, namespace=namespace, name=name
        )
        answer = await self._request(
            "POST",
            f"{self._base}/apis/authorization.k8s.io/v1/subjectaccessreviews",
            f"access review of {user}: {verb} {resource}",
            body=body,
            fenced=False,
        )
        return access_review_of(answer.get("status"))

    async def version(self) -> str:
        """The API server's version (a cheap liveness probe)."""
        data = await self._request("GET", f"{self._base}/version", "version")
        return str(data.get("gitVersion", ""))
