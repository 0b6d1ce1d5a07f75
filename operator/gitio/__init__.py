"""The one place that talks to git (through GitPython)."""

from whisperer.operator.gitio.fetch import FetchError, fetch, remote_revision

__all__ = ["FetchError", "fetch", "remote_revision"]
