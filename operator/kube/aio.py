"""An asyncio client for our custom resources, for the webhook shim's hot path.

The official client is synchronous; the shim writes alerts from many concurrent requests,
so it talks to the API server with aiohttp (already a dependency through Kopf) and maps
the answers into the same errors as the synchronous wrapper.
"""

from __future__ import annotations

import json
import ssl
from typing import Any, cast

import aiohttp

from whisperer.operator.errors import UnavailableError
from whisperer.operator.kube.client import Connection, error_for_status, load_connection
from whisperer.operator.models.v1alpha1 import GROUP, VERSION

Body = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


def _error(status: int, what: str, text: str) -> Exception:
    try:
        message = str(json.loads(text).get("message") or text)
    except ValueError:
        message = text[:500]
    return error_for_status(status, f"{what}: {message}")


class AsyncKube:
    """get, create and patch of alertwhisperer.io objects, over one pooled connection."""

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
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()

    def _path(self, plural: str, namespace: str | None, name: str | None = None) -> str:
        path = f"{self._base}/apis/{GROUP}/{VERSION}"
        if namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{plural}"
        return f"{path}/{name}" if name else path

    async def _request(
        self, method: str, url: str, what: str, *, body: Any = None, content_type: str = ""
    ) -> Body:
        session = await self._client()
        headers = {"Content-Type": content_type or "application/json"} if body is not None else {}
        data = json.dumps(body) if body is not None else None
        try:
            async with session.request(method, url, data=data, headers=headers) as response:
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

    async def version(self) -> str:
        """The API server's version (a cheap liveness probe)."""
        data = await self._request("GET", f"{self._base}/version", "version")
        return str(data.get("gitVersion", ""))
