"""Handlers: the operator's reactions to the cluster. Kopf reconciles the config kinds,
companies, technicians, git sources and runs (one module each); alerts and incidents, the
hot path, come through the operator's own watches (`alerts`, `incidents`, started by
`activation`). Each parses the body into a model, calls services, and writes status."""

from whisperer.operator.handlers import activation as activation
from whisperer.operator.handlers import company as company
from whisperer.operator.handlers import config as config
from whisperer.operator.handlers import execution as execution
from whisperer.operator.handlers import gitsource as gitsource
from whisperer.operator.handlers import technician as technician

__all__ = ["activation", "company", "config", "execution", "gitsource", "technician"]
