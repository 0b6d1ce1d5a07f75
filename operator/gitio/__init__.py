"""The one place that talks to git (through GitPython) and to gpg for commit signatures."""

from whisperer.operator.gitio.fetch import FetchError, fetch
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
    "split_signature",
    "verify_head",
]
