"""The one place that talks to git (through GitPython)."""

from whisperer.operator.gitio.fetch import FetchError, UntrustedRevisionError, fetch, verify_head

__all__ = ["FetchError", "UntrustedRevisionError", "fetch", "verify_head"]
