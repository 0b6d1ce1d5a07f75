"""The one place that talks to git (through GitPython) and to gpg for commit signatures."""

from whisperer.operator.gitio.fetch import FetchError, fetch, remote_revision
from whisperer.operator.gitio.signatures import (
    SignatureFormat,
    TrustedKeys,
    UntrustedRevisionError,
    split_signature,
    verify_head,
)

__all__ = [
    "FetchError",
    "SignatureFormat",
    "TrustedKeys",
    "UntrustedRevisionError",
    "fetch",
    "remote_revision",
    "split_signature",
    "verify_head",
]
