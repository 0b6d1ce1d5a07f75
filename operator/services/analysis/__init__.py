"""Optional AI analysis of incidents: Claude (the Anthropic API, or Bedrock through the same
SDK) adds a summary, a probable cause and a suggested severity, bounded in time (a timeout),
money (a daily budget) and repetition (a cache); it decides only above a confidence threshold.

The SDK itself is wrapped in `whisperer.operator.ai` (the I/O layer). A failure of any kind
becomes a recorded `Analysis` with `error` set, never an exception that reaches a caller.
Without configuration `analyser()` returns None and the rules alone decide.

`settings` (what the environment says), `view` (what is sent), `verdict` (what comes back
and what it decides), `limits` (cache and budget), `analyst` (the asking).
"""

from whisperer.operator.services.analysis.analyst import Analyst, analyser
from whisperer.operator.services.analysis.limits import DailyBudget, TTLCache
from whisperer.operator.services.analysis.settings import DEFAULT_MODEL, Provider, Settings
from whisperer.operator.services.analysis.verdict import (
    COMPOSED,
    Analysis,
    AnswerError,
    Suggestion,
    Verdict,
    apply,
    compose,
    parse_answer,
    record,
    rescored,
)
from whisperer.operator.services.analysis.view import (
    ALERTS_SENT,
    SYSTEM,
    IncidentView,
    prompt,
    view_of,
    wanted,
)

__all__ = [
    "ALERTS_SENT",
    "COMPOSED",
    "DEFAULT_MODEL",
    "SYSTEM",
    "Analysis",
    "Analyst",
    "AnswerError",
    "DailyBudget",
    "IncidentView",
    "Provider",
    "Settings",
    "Suggestion",
    "TTLCache",
    "Verdict",
    "analyser",
    "apply",
    "compose",
    "parse_answer",
    "prompt",
    "record",
    "rescored",
    "view_of",
    "wanted",
]
