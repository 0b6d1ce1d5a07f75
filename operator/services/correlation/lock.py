"""The correlator's lock: decisions for one operator are made one at a time, in memory.

Only the correlation service takes it (an import contract keeps everything else out), and
only around reading or changing memory, never across I/O."""

from __future__ import annotations

import threading


def decision_lock() -> threading.Lock:
    """A new lock for one correlation service."""
    return threading.Lock()
