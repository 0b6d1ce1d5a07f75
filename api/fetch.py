"""The shim's only outbound HTTP: SNS signing certificates and subscription confirmations."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Callable

MAX_BYTES = 64 * 1024


def https_getter(*, ca_file: str | None = None, timeout: float = 10.0) -> Callable[[str], bytes]:
    """A GET for https URLs only (the caller checked the host), bounded in size and time."""
    context = ssl.create_default_context(cafile=ca_file)

    def get(url: str) -> bytes:
        if not url.startswith("https://"):
            raise ValueError(f"refusing to fetch a non-https URL: {url}")
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            data: bytes = response.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"{url} answered more than {MAX_BYTES} bytes")
        return data

    return get
