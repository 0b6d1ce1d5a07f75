"""AI analysis through the real anthropic SDK, against a local Messages API stub: what is
sent, what comes back, and that every failure leaves the rules in charge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from support.messages_stub import MessagesStub, messages_stub

from whisperer.operator.errors import PermanentError
from whisperer.operator.models.v1alpha1 import IncidentStatus
from whisperer.operator.services import analysis
from whisperer.operator.services.analysis import Analyst, Settings
from whisperer.operator.services.analysis import view as what_is_sent

KEY = "fake-key-for-the-local-stub-0"


def incident_status(**changes: Any) -> dict[str, Any]:
    """An incident's status as correlation writes it: a disk filling on db01, seen by two
    tools, db01 critical (score 45 + 20 + 10 + 2 = 77)."""
    status: dict[str, Any] = {
        "phase": "Open",
        "company": "acme",
        "severity": "high",
        "priority": "P1",
        "score": 77,
        "pattern": "multi-source",
        "aggregationKey": "db01|disk-space-low",
        "rootCause": {
            "asset": "db01",
            "signal": "disk-space-low",
            "summary": "disk-space-low on db01, seen by datadog, zabbix",
            "decidedBy": "rules",
        },
        "alerts": {
            "count": 2,
            "sources": ["datadog", "zabbix"],
            "refs": [
                {"name": "al-1", "asset": "db01", "signal": "disk-space-low", "source": "zabbix"},
                {"name": "al-2", "asset": "db01", "signal": "disk-space-low", "source": "datadog"},
            ],
            "firing": 2,
            "firstAt": "2026-11-27T09:00:00Z",
            "lastAt": "2026-11-27T09:02:00Z",
        },
    }
    status.update(changes)
    return status


def status_patch(
    result: analysis.Analysis, status: dict[str, Any], view: analysis.IncidentView
) -> dict[str, Any]:
    """What the analysis writes: its record (the visible fields are composed from it)."""
    return {"analysis": analysis.record(result, status, min_confidence=0.7, view=view)}


def settings(stub: MessagesStub, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "anthropic",
        "api_key": KEY,
        "base_url": stub.url,
        "model": "claude-sonnet-5-5",
        "timeout": 5.0,
        "max_retries": 0,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def stub() -> Iterator[MessagesStub]:
    with messages_stub() as running:
        yield running


@pytest.fixture
def view() -> analysis.IncidentView:
    found = analysis.view_of(incident_status())
    assert found is not None
    return found


def analyst(stub: MessagesStub, **changes: Any) -> Analyst:
    return Analyst(settings(stub, **changes))


def test_a_suggestion_comes_back_parsed_with_its_cost(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="critical", confidence=0.9)
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.error is None and result.skipped_reason is None
    assert result.suggestion is not None
    assert result.suggestion.suggested_severity == "critical"
    assert result.suggestion.probable_cause.asset == "db01"
    assert result.suggestion.confidence == 0.9
    assert result.cost_usd == pytest.approx((420 * 3 + 90 * 15) / 1_000_000)
    assert ai.budget.spent == pytest.approx(result.cost_usd)
    assert result.input_hash == view.input_hash("claude-sonnet-5-5")
    [request] = stub.requests
    assert request.path == "/v1/messages"
    assert request.credential == KEY
    assert request.headers["anthropic-version"]
    assert request.body["model"] == "claude-sonnet-5-5"
    assert "db01" in request.prompt and "disk-space-low" in request.prompt
    assert '"severityByRules": "high"' in request.prompt


def test_only_the_bounded_redacted_view_is_sent(stub: MessagesStub) -> None:
    secret = "ghp_" + "A1b2C3d4" * 5
    refs = [
        {"name": f"al-{i}", "asset": f"web{i:02d}", "signal": "cpu-high", "source": "datadog"}
        for i in range(40)
    ]
    refs.append({"name": "al-x", "asset": f"token={secret}", "signal": "x", "source": "generic"})
    status = incident_status(alerts={"count": 137, "sources": ["datadog"], "refs": refs})
    found = analysis.view_of(status)
    assert found is not None
    assert len(found.refs) == analysis.ALERTS_SENT
    assert found.alerts == "100+"
    stub.suggest(asset="web01", signal="cpu-high", severity="high", confidence=0.5)
    ai = analyst(stub)
    try:
        ai.analyse(found)
    finally:
        ai.close()
    sent = stub.requests[0].prompt + stub.requests[0].body["system"]
    assert secret not in sent
    assert "web39" not in sent  # 20 of the 41 distinct alerts, in a stable order
    assert "[redacted]" in what_is_sent._clean(f"token={secret}")
    # One more alert on a big incident is the same question.
    more = analysis.view_of(incident_status(alerts={**status["alerts"], "count": 138}))
    assert more is not None and more.input_hash("m") == found.input_hash("m")


def test_below_the_threshold_the_rules_severity_stays(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="critical", confidence=0.69)
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    verdict = analysis.apply(result, "high", 0.7)
    assert (verdict.applied, verdict.severity) == (False, "high")
    patch = status_patch(result, incident_status(), view)
    assert set(patch) == {"analysis"}
    assert patch["analysis"]["appliedSeverity"] is False
    assert patch["analysis"]["suggestedSeverity"] == "critical"
    assert "below 0.70" in patch["analysis"]["note"]
    IncidentStatus.model_validate({**incident_status(), **patch})


def test_at_or_above_the_threshold_the_ai_decides_severity_priority_and_cause(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(
        asset="db01",
        signal="disk-space-low",
        severity="medium",
        confidence=0.7,
        summary="Log rotation stopped; /var filled.",
    )
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert analysis.apply(result, "high", 0.7) == analysis.Verdict(
        True, "medium", "confidence 0.70 reaches 0.70"
    )
    status = incident_status()
    rules = {k: status[k] for k in ("severity", "score", "priority", "rootCause")}
    patch = status_patch(result, status, view)
    assert patch["analysis"]["appliedSeverity"] is True
    # The incident writer composes the visible fields from the rules and the record.
    merged = {**status, "rules": rules, **patch}
    shown = analysis.compose(merged)
    assert shown["severity"] == "medium"
    assert (shown["score"], shown["priority"]) == (62, "P2")  # 77 - 15: one rank lower
    assert shown["rootCause"] == {
        "asset": "db01",
        "signal": "disk-space-low",
        "summary": "Log rotation stopped; /var filled.",
        "decidedBy": "ai",
        "confidence": 0.7,
    }
    IncidentStatus.model_validate({**merged, **shown})
    # The AI's decision is never the rules': the view (and so correlation after a restart)
    # goes on from the rules' conclusions, whatever the visible fields show.
    again = analysis.view_of({**merged, **shown})
    assert again is not None and again.severity == "high" and again.decided_by == "rules"
    # A change of what the AI was asked about shows the rules again until the next answer.
    joined = {**merged, "alerts": {**merged["alerts"], "count": 9}}
    assert analysis.compose(joined)["severity"] == "high"


def test_a_cause_outside_the_incident_does_not_decide(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="mail01", signal="host-down", severity="critical", confidence=0.99)
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    patch = status_patch(result, incident_status(), view)
    assert set(patch) == {"analysis"} and patch["analysis"]["appliedSeverity"] is False
    assert "not an asset of the incident" in patch["analysis"]["note"]


def test_a_timeout_is_a_recorded_failure_and_returns_quickly(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="x", severity="low", confidence=1, delay=10)
    ai = analyst(stub, timeout=0.5)
    started = time.monotonic()
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert time.monotonic() - started < 3
    assert result.suggestion is None
    assert result.error is not None and "no answer within 0.5s" in result.error
    assert stub.count() == 1
    patch = status_patch(result, incident_status(), view)
    assert set(patch) == {"analysis"}
    assert patch["analysis"]["error"] == result.error
    assert patch["analysis"]["summary"] is None


@pytest.mark.parametrize("status", [500, 529])
def test_a_server_error_is_a_recorded_failure_after_the_retries(
    stub: MessagesStub, view: analysis.IncidentView, status: int
) -> None:
    stub.fail(status)
    ai = analyst(stub, max_retries=1)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.suggestion is None
    assert result.error is not None and f"answered {status}" in result.error
    assert stub.count() == 2  # the first attempt and one retry
    assert ai.budget.spent == 0


def test_a_refused_key_is_a_recorded_failure(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.fail(401)
    ai = analyst(stub, max_retries=1)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.error is not None and "answered 401" in result.error
    assert stub.count() == 1  # not retried


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("The disk is full, severity high.", "no JSON object"),
        ('{"summary": "x", "probableCause": {"asset": "db01"', "no JSON object"),
        (
            '{"summary": "x", "probableCause": {"asset": "db01", "signal": "y"}, '
            '"suggestedSeverity": "catastrophic", "confidence": 0.9}',
            "not the JSON asked for",
        ),
        (
            '{"summary": "x", "probableCause": {"asset": "db01", "signal": "y"}, '
            '"suggestedSeverity": "high", "confidence": 3}',
            "not the JSON asked for",
        ),
        ("{not json at all}", "not the JSON asked for"),
    ],
)
def test_a_malformed_answer_is_a_recorded_failure(
    stub: MessagesStub, view: analysis.IncidentView, text: str, why: str
) -> None:
    stub.answer(text)
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.suggestion is None
    assert result.error is not None and why in result.error
    assert result.cost_usd > 0  # it was paid for all the same
    assert analysis.apply(result, "high", 0.0).applied is False


def test_an_answer_in_a_code_fence_is_accepted(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.answer(
        'Here it is:\n```json\n{"summary": "Disk full.", "probableCause": {"asset": "db01", '
        '"signal": "disk-space-low"}, "suggestedSeverity": "high", "confidence": 0.8}\n```'
    )
    ai = analyst(stub)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.suggestion is not None and result.suggestion.summary == "Disk full."


def test_the_same_input_is_answered_from_the_cache(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="high", confidence=0.8)
    ai = analyst(stub)
    try:
        first = ai.analyse(view)
        again = ai.analyse(view)
        other = analysis.view_of(incident_status(severity="critical"))
        assert other is not None
        ai.analyse(other)
    finally:
        ai.close()
    assert stub.count() == 2  # the repeat cost nothing; another input is another question
    assert (first.cached, again.cached) == (False, True)
    assert again.suggestion == first.suggestion
    assert again.cost_usd == 0


def test_the_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    cache = analysis.TTLCache(size=2, ttl=10, clock=lambda: now[0])
    answer = analysis.Suggestion.model_validate(
        {
            "summary": "s",
            "probableCause": {"asset": "a", "signal": "b"},
            "suggestedSeverity": "low",
            "confidence": 0.1,
        }
    )
    for key in ("a", "b", "c"):
        cache.put(key, answer)
    assert cache.get("a") is None and cache.get("c") == answer  # the oldest went
    now[0] = 11
    assert cache.get("c") is None


def test_an_exhausted_budget_skips_without_a_request(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="high", confidence=0.8)
    ai = analyst(stub, budget_usd_per_day=0.0)
    try:
        result = ai.analyse(view)
    finally:
        ai.close()
    assert result.skipped_reason == "budget" and result.suggestion is None
    assert stub.count() == 0
    patch = status_patch(result, incident_status(), view)
    assert patch["analysis"]["skippedReason"] == "budget"


def test_the_budget_counts_what_was_spent_today_and_resets_tomorrow(
    stub: MessagesStub, view: analysis.IncidentView
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="high", confidence=0.8)
    day = [date(2026, 11, 27)]
    probe = analyst(stub)
    worst = probe.worst_case(view)
    probe.close()
    # Room for one request's worst case, and 0.002 USD more: less than one costs (0.0026).
    ai = Analyst(settings(stub, budget_usd_per_day=worst + 0.002), today=lambda: day[0])
    other = analysis.view_of(incident_status(severity="critical"))
    assert other is not None
    try:
        assert ai.analyse(view).suggestion is not None
        assert ai.analyse(other).skipped_reason == "budget"
        day[0] = date(2026, 11, 28)
        assert ai.analyse(other).suggestion is not None
    finally:
        ai.close()
    assert stub.count() == 2


def test_without_a_key_or_provider_nothing_is_asked(stub: MessagesStub) -> None:
    assert analysis.analyser(Settings.from_env({"ANTHROPIC_BASE_URL": stub.url})) is None
    assert analysis.analyser(Settings.from_env({"WHISPERER_AI_PROVIDER": "anthropic"})) is None
    off = {"ANTHROPIC_API_KEY": KEY, "WHISPERER_AI_PROVIDER": "off"}
    assert analysis.analyser(Settings.from_env(off)) is None
    assert analysis.apply(None, "high", 0.7) == analysis.Verdict(
        False, "high", "no suggestion: the rules decide"
    )
    assert stub.count() == 0


def test_the_environment_configures_the_sdk(
    stub: MessagesStub, view: analysis.IncidentView, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": stub.url,
        "WHISPERER_AI_MODEL": "claude-haiku-4-5",
        "WHISPERER_AI_TIMEOUT_SECONDS": "3",
        "WHISPERER_AI_MIN_CONFIDENCE": "0.9",
        "WHISPERER_AI_BUDGET_USD_PER_DAY": "1.5",
        "WHISPERER_AI_MAX_RETRIES": "0",
    }
    monkeypatch.delenv("WHISPERER_AI_PROVIDER", raising=False)  # inferred from the key
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = Settings.from_env()
    assert (found.provider, found.model, found.timeout) == ("anthropic", "claude-haiku-4-5", 3)
    assert (found.min_confidence, found.budget_usd_per_day) == (0.9, 1.5)
    assert KEY not in repr(found)
    stub.suggest(asset="db01", signal="disk-space-low", severity="high", confidence=0.95)
    ai = analysis.analyser()
    assert ai is not None
    try:
        assert ai.analyse(view).suggestion is not None
    finally:
        ai.close()
    assert stub.requests[0].body["model"] == "claude-haiku-4-5"
    # WHISPERER_AI_BASE_URL wins over the SDK's own variable.
    monkeypatch.setenv("WHISPERER_AI_BASE_URL", "http://127.0.0.1:9")
    assert Settings.from_env().base_url == "http://127.0.0.1:9"
    bedrock = {"WHISPERER_AI_PROVIDER": "bedrock", "WHISPERER_AI_MODEL": "a-profile-id"}
    assert Settings.from_env(bedrock).enabled
    with pytest.raises(PermanentError, match="WHISPERER_AI_MODEL is required"):
        Settings.from_env({"WHISPERER_AI_PROVIDER": "bedrock"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WHISPERER_AI_PROVIDER", "openai"),
        ("WHISPERER_AI_TIMEOUT_SECONDS", "soon"),
        ("WHISPERER_AI_MIN_CONFIDENCE", "1.5"),
        ("WHISPERER_AI_BUDGET_USD_PER_DAY", "-1"),
        ("WHISPERER_AI_TIMEOUT_SECONDS", "nan"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(PermanentError, match=name):
        Settings.from_env({"ANTHROPIC_API_KEY": KEY, name: value})


def test_what_is_not_worth_analysing_has_no_view() -> None:
    assert analysis.view_of(incident_status(aggregationKey=None)) is None
    assert analysis.wanted(incident_status(phase="Resolved")) is None
    assert analysis.view_of(incident_status(phase="Resolved")) is not None  # still composed
    shown = {"asset": "db01", "signal": "x", "decidedBy": "ai"}
    rules = {"severity": "high", "rootCause": {"asset": "db01", "signal": "disk-space-low"}}
    decided = incident_status(rootCause=shown, rules=rules)
    found = analysis.view_of(decided)
    assert found is not None and found.cause_signal == "disk-space-low"


def test_a_recorded_analysis_can_be_applied_again() -> None:
    recorded = {
        "provider": "anthropic",
        "model": "claude-sonnet-5-5",
        "at": "2026-11-27T09:03:00Z",
        "inputHash": "0" * 64,
        "summary": "Disk full.",
        "probableCause": {"asset": "db01", "signal": "disk-space-low"},
        "suggestedSeverity": "critical",
        "confidence": 0.8,
        "appliedSeverity": True,
        "costUsd": 0.002,
    }
    again = analysis.Analysis.from_status(recorded)
    assert again.at == datetime(2026, 11, 27, 9, 3, tzinfo=UTC)
    assert analysis.apply(again, "high", 0.7).severity == "critical"
    assert analysis.apply(again, "high", 0.9).applied is False
