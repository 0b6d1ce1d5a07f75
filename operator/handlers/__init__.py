"""Kopf handlers: parse the body into a model, call one service, write status."""

from whisperer.operator.handlers import analysis as analysis
from whisperer.operator.handlers import company as company
from whisperer.operator.handlers import config as config
from whisperer.operator.handlers import correlation as correlation
from whisperer.operator.handlers import execution as execution
from whisperer.operator.handlers import gitsource as gitsource
from whisperer.operator.handlers import incident as incident
from whisperer.operator.handlers import technician as technician

__all__ = [
    "analysis",
    "company",
    "config",
    "correlation",
    "execution",
    "gitsource",
    "incident",
    "technician",
]
