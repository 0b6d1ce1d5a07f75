"""What comes back from the model, and what it decides: the answer validated, recorded in
`status.analysis`, and composed with the rules' conclusions into the incident's visible
severity, score, priority and root cause (by the incident writer, at every write)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from whisperer.operator.clock import rfc3339
from whisperer.operator.errors import PermanentError
from whisperer.operator.models.v1alpha1.common import Severity
from whisperer.operator.services.analysis.view import IncidentView, view_of
from whisperer.operator.services.correlation.incidents import rules_of
from whisperer.operator.services.correlation.priority import SEVERITY_RANK, priority_name

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
COMPOSED = ("severity", "score", "priority", "rootCause")
"""The visible fields composed from the rules' conclusions and the AI's verdict."""


class Cause(BaseModel):
    """The cause the model names."""

    model_config = ConfigDict(extra="ignore")
    asset: str = Field(min_length=1, max_length=253)
    signal: str = Field(min_length=1, max_length=256)


class Suggestion(BaseModel):
    """The model's answer, validated: anything else is a failure."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    summary: str = Field(min_length=1, max_length=2048)
    probable_cause: Cause = Field(alias="probableCause")
    suggested_severity: Severity = Field(alias="suggestedSeverity")
    confidence: float = Field(ge=0, le=1)

    @field_validator("summary", mode="before")
    @classmethod
    def _shorten(cls, value: Any) -> Any:
        return _CONTROL.sub(" ", value).strip()[:2048] if isinstance(value, str) else value


class AnswerError(PermanentError):
    """The model answered, but not with what was asked."""


def parse_answer(text: str) -> Suggestion:
    """The JSON object in the model's text (code fences and prose around it tolerated)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise AnswerError(f"no JSON object in the answer: {text[:120]!r}")
    try:
        return Suggestion.model_validate(json.loads(text[start : end + 1]))
    except ValueError as exc:  # json.JSONDecodeError and ValidationError both are
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise AnswerError(f"the answer is not the JSON asked for: {detail}"[:500]) from exc


@dataclass(frozen=True)
class Analysis:
    """One analysis: the suggestion, or why there is none."""

    provider: str
    model: str
    input_hash: str
    at: datetime
    suggestion: Suggestion | None = None
    error: str | None = None
    skipped_reason: Literal["budget"] | None = None
    cost_usd: float = 0.0
    cached: bool = False

    @classmethod
    def from_status(cls, recorded: Mapping[str, Any]) -> Analysis:
        """An analysis as status.analysis recorded it (to apply it again)."""
        suggestion = None
        if recorded.get("summary") and recorded.get("probableCause"):
            with_defaults = {"confidence": 0, "suggestedSeverity": "info", **recorded}
            try:
                suggestion = Suggestion.model_validate(with_defaults)
            except ValidationError:
                suggestion = None
        return cls(
            provider=str(recorded.get("provider", "")),
            model=str(recorded.get("model", "")),
            input_hash=str(recorded.get("inputHash", "")),
            at=datetime.fromisoformat(str(recorded["at"]).replace("Z", "+00:00"))
            if recorded.get("at")
            else datetime.now(UTC),
            suggestion=suggestion,
            error=recorded.get("error"),
            skipped_reason=recorded.get("skippedReason"),
            cost_usd=float(recorded.get("costUsd") or 0),
            cached=bool(recorded.get("cached")),
        )


@dataclass(frozen=True)
class Verdict:
    """What an analysis decides: the severity to write, and whether the AI decided."""

    applied: bool
    severity: str
    note: str


def apply(
    result: Analysis | None,
    rules_severity: str,
    min_confidence: float,
    *,
    assets: Collection[str] | None = None,
) -> Verdict:
    """The severity to write: the suggestion's when its confidence reaches `min_confidence`
    (and, given `assets`, the cause it names is one of them), the rules' otherwise."""
    suggestion = result.suggestion if result is not None else None
    if suggestion is None:
        return Verdict(False, rules_severity, "no suggestion: the rules decide")
    if suggestion.confidence < min_confidence:
        return Verdict(
            False,
            rules_severity,
            f"confidence {suggestion.confidence:.2f} is below {min_confidence:.2f}",
        )
    if assets is not None and suggestion.probable_cause.asset not in assets:
        return Verdict(
            False,
            rules_severity,
            f"the cause it names ({suggestion.probable_cause.asset[:64]}) is not an asset of "
            "the incident",
        )
    return Verdict(
        True,
        str(suggestion.suggested_severity),
        f"confidence {suggestion.confidence:.2f} reaches {min_confidence:.2f}",
    )


def _iso(when: datetime) -> str:
    return rfc3339(when)


def rescored(rules: Mapping[str, Any], severity: str) -> tuple[int, str]:
    """Score and priority of the incident with another severity, its other terms unchanged
    (the score is a sum: the severity's part is swapped)."""
    before = SEVERITY_RANK.get(rules.get("severity") or "", 0)
    score = int(rules.get("score") or 0) + 15 * (SEVERITY_RANK.get(severity, 0) - before)
    score = max(0, min(score, 100))
    return score, priority_name(score)


def record(
    result: Analysis,
    status: Mapping[str, Any],
    *,
    min_confidence: float,
    view: IncidentView,
) -> dict[str, Any]:
    """The incident's `status.analysis` for an answer about `view` (every key, so an older
    answer's fields go); `appliedSeverity` says whether the AI decides."""
    rules = rules_of(status)
    verdict = apply(
        result, str(rules.get("severity") or "info"), min_confidence, assets=view.assets
    )
    suggestion = result.suggestion
    return {
        "provider": result.provider,
        "model": result.model[:128],
        "at": _iso(result.at),
        "inputHash": result.input_hash,
        "summary": suggestion.summary if suggestion else None,
        "probableCause": suggestion.probable_cause.model_dump() if suggestion else None,
        "suggestedSeverity": str(suggestion.suggested_severity) if suggestion else None,
        "confidence": suggestion.confidence if suggestion else None,
        "appliedSeverity": verdict.applied,
        "note": verdict.note[:256] if suggestion else None,
        "error": result.error[:1024] if result.error else None,
        "skippedReason": result.skipped_reason,
        "cached": result.cached,
        "costUsd": round(result.cost_usd, 6),
    }


def compose(status: Mapping[str, Any]) -> dict[str, Any]:
    """The visible severity, score, priority and root cause: the AI's where its recorded
    verdict applies and was given about the incident as it is now (the same input hash),
    the rules' otherwise. So a join that changes what the AI was asked about shows the
    rules' conclusions again until the next answer, and a write that changes nothing the AI
    saw (a resolution) keeps its decision."""
    rules = rules_of(status)
    visible = {key: rules.get(key) for key in COMPOSED}
    recorded = status.get("analysis") or {}
    if not recorded.get("appliedSeverity") or not recorded.get("suggestedSeverity"):
        return visible
    view = view_of(status)
    if view is None or view.input_hash(str(recorded.get("model", ""))) != recorded.get("inputHash"):
        return visible
    cause = recorded.get("probableCause") or {}
    severity = str(recorded["suggestedSeverity"])
    score, prio = rescored(rules, severity)
    return {
        "severity": severity,
        "score": score,
        "priority": prio,
        "rootCause": {
            "asset": cause.get("asset", ""),
            "signal": cause.get("signal", ""),
            "summary": recorded.get("summary") or "",
            "decidedBy": "ai",
            "confidence": recorded.get("confidence"),
        },
    }
