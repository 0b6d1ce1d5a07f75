"""Parsers for what each monitoring tool sends: pure functions from a request to RawAlerts."""
