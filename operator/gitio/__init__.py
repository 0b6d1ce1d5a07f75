"""The one place that talks to git (through GitPython)."""

from whisperer.operator.gitio.fetch import FetchError, fetch

__all__ = ["FetchError", "fetch"]
