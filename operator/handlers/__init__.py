"""Kopf handlers: parse the body into a model, call one service, write status."""

from whisperer.operator.handlers import config as config

__all__ = ["config"]
