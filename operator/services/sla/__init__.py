"""SLA: covered time (`calendar`), deadlines with the customer's waits taken out
(`deadlines`), an incident's clocks and the steps they call for (`clocks`), and the one
scheduler that takes them on time (`service`)."""

from whisperer.operator.services.sla.calendar import add_covered, covered_between, is_covered
from whisperer.operator.services.sla.deadlines import (
    DEFAULT_LADDER,
    DEFAULT_TARGETS,
    Deadlines,
    Pause,
    deadlines,
    ladder,
    targets,
    warning_lead,
)

__all__ = [
    "DEFAULT_LADDER",
    "DEFAULT_TARGETS",
    "Deadlines",
    "Pause",
    "add_covered",
    "covered_between",
    "deadlines",
    "is_covered",
    "ladder",
    "targets",
    "warning_lead",
]
