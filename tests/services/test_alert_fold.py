"""Folding a batch of reports into one Alert write (the shim coalesces a burst of reports of
one fingerprint into one write): the loudest firing report of the batch is the severity
written, so a rise inside a burst still reaches the operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from whisperer.operator.services.alerts import Report, fold, new_alert

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def report(minute: int, severity: str, state: str = "firing") -> Report:
    return Report(
        company="acme",
        fingerprint="f" * 16,
        source="generic",
        asset="web01",
        asset_known=True,
        signal="PAM login failed",
        raw_signal="PAM login failed",
        severity=severity,
        state=state,
        occurred_at=T0 + timedelta(minutes=minute),
        message=f"{severity} at {minute}",
        delivery=f"d-{minute}-{severity}-{state}",
    )


def test_a_rise_inside_a_burst_is_written():
    spec = new_alert([report(0, "low")], "company-acme")["spec"]
    update = fold(spec, [report(1, "low"), report(2, "high"), report(3, "low")])
    assert update is not None
    assert update["severity"] == "high"
    assert update["message"] == "low at 3"  # the rest is the latest report's
    assert update["occurrences"] == 4
    # The next write says how loud it is after the burst.
    after = fold({**spec, **update}, [report(4, "low")])
    assert after is not None and after["severity"] == "low"


def test_a_new_alert_from_a_burst_takes_its_loudest_report():
    spec = new_alert([report(0, "low"), report(1, "critical"), report(2, "medium")], "ns")["spec"]
    assert spec["severity"] == "critical"


def test_only_reports_after_the_batch_s_last_resolution_count():
    spec = new_alert([report(0, "low")], "ns")["spec"]
    update = fold(spec, [report(1, "critical"), report(2, "low", "resolved"), report(3, "low")])
    assert update is not None
    assert (update["state"], update["severity"]) == ("firing", "low")


def test_a_resolution_keeps_its_own_severity():
    spec = new_alert([report(0, "high")], "ns")["spec"]
    update = fold(spec, [report(1, "critical"), report(2, "high", "resolved")])
    assert update is not None
    assert update["state"] == "resolved"
    assert "severity" not in update  # a resolution changes the state, not what it is about


def test_a_firing_report_at_the_same_time_as_a_resolution_it_follows():
    """Equal event times: the batch's first report at that time is the latest; a firing
    one is written with its own severity (nothing after the resolution outranks it)."""
    spec = new_alert([report(0, "low")], "ns")["spec"]
    update = fold(spec, [report(1, "medium"), report(1, "critical", "resolved")])
    assert update is not None
    assert (update["state"], update["severity"]) == ("firing", "medium")
