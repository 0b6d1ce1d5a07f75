"""Correlation: alerts into incidents, decided in memory (`correlator`), placed through
silences and inhibition (`pipeline`), scored (`priority`), written as incident status
(`incidents`), rebuilt after a restart (`memory`) and run by the operator (`service`)."""

from whisperer.operator.services.correlation.correlator import (
    REFS_KEPT,
    STORM_SPAN,
    AlertFacts,
    Correlator,
    Decision,
    OpenIncident,
    aggregation_key,
    state_changes,
    upstream_of,
)
from whisperer.operator.services.correlation.priority import (
    SEVERITY_RANK,
    higher,
    priority,
    priority_name,
)

__all__ = [
    "REFS_KEPT",
    "SEVERITY_RANK",
    "STORM_SPAN",
    "AlertFacts",
    "Correlator",
    "Decision",
    "OpenIncident",
    "aggregation_key",
    "higher",
    "priority",
    "priority_name",
    "state_changes",
    "upstream_of",
]
