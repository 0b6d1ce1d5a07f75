"""What the operator runs with, built once at startup by the runner (the composition root)
and handed to every handler: settings, the clock, the clients, the config store and the
services. Handlers reach it through `of(memo)`, typed, never through a grab bag."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from whisperer.operator.clock import Clock
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.analysis.worker import Worker
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation.executor import Executor
from whisperer.operator.services.correlation.service import CorrelationService
from whisperer.operator.services.gitsync import BuildCache
from whisperer.operator.services.incident_writer import IncidentWriter
from whisperer.operator.services.notifications.planner import NotificationPlanner
from whisperer.operator.services.notifications.sender import NotificationSender
from whisperer.operator.services.sla.service import SlaService
from whisperer.operator.settings import Settings


@dataclass
class Runtime:
    """The operator's clients and services (one of each per operator)."""

    settings: Settings
    clock: Clock
    kube: KubeClient
    """The synchronous client, for Kopf's handlers (they run in threads)."""
    akube: AsyncKube
    """The asyncio client, for the watches and the writers on the event loop."""
    config: ConfigStore
    correlation: CorrelationService
    writer: IncidentWriter
    executor: Executor
    builds: BuildCache
    sla: SlaService
    planner: NotificationPlanner
    sender: NotificationSender
    analysis: Worker | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    """The loops started at activation (watches, auto-resolution)."""
    closers: list[Callable[[], None]] = field(default_factory=list)
    """What else to stop at deactivation (pending retries)."""
    sessions: list[Any] = field(default_factory=list)
    """HTTP sessions to close with the clients (the notifications')."""
    marks: dict[str, Any] = field(default_factory=dict)
    """When periodic work last ran (key -> time), so tests can prove a timer ran before
    they assert that nothing happened."""


def of(memo: Any) -> Runtime:
    """The runtime the runner put into Kopf's memo."""
    return cast(Runtime, memo.runtime)


__all__ = ["Runtime", "of"]
