"""The reporting service's numbers for a seeded month, and which summaries a Company keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.reporting import EXPECTED, MONTH, seeded

from whisperer.operator.services.reporting import report, store
from whisperer.operator.services.reporting.summary import Month, summarize

NOW = datetime(2026, 12, 10, 12, tzinfo=UTC)  # November is final (7 days after it)


def _report() -> dict:
    summary = summarize(seeded(), Month.parse(MONTH), now=NOW)
    return report.build(summary, company="acme", display_name="Acme Dental", source="incidents")


def test_the_seeded_month_gives_the_numbers_worked_out_by_hand() -> None:
    r = _report()
    assert r["incidents"]["total"] == EXPECTED["incidents"]
    assert r["incidents"]["resolved"] == EXPECTED["resolved"]
    assert r["incidents"]["bySeverity"] == EXPECTED["bySeverity"]
    assert r["sla"]["response"] == EXPECTED["response"]
    assert r["sla"]["resolution"] == EXPECTED["resolution"]
    assert r["mttaMinutes"] == EXPECTED["mtta"]
    assert r["mttrMinutes"] == EXPECTED["mttr"]
    assert r["noise"] == {"alerts": 80, "incidents": 6, "reduction": EXPECTED["noiseReduction"]}
    assert r["automation"] == {
        "selfHealedIncidents": 1,
        "selfHealedRate": EXPECTED["selfHealedRate"],
        "runs": 2,
        "runsSelfHealed": 1,
    }
    assert r["escalations"]["incidents"] == EXPECTED["escalated"]
    assert {w["week"]: w["count"] for w in r["incidents"]["perWeek"]} == EXPECTED["perWeek"]
    assert [(a["name"], a["alerts"]) for a in r["noisiestAssets"]] == EXPECTED["noisiestAssets"]
    assert [m["name"] for m in r["majorIncidents"]] == EXPECTED["major"]
    assert r["final"] is True


def test_an_empty_month_has_no_rates_rather_than_a_division_by_zero() -> None:
    r = report.build(
        summarize([], Month.parse("2026-02"), now=NOW), company="a", display_name="A", source="x"
    )
    assert r["incidents"]["total"] == 0
    assert r["sla"]["response"]["compliance"] is None
    assert r["mttaMinutes"] == {"all": None}
    assert r["noise"]["reduction"] is None
    assert len(r["incidents"]["perWeek"]) == 5  # Jan 26 .. Feb 23


def test_an_outcome_missing_falls_back_to_the_breach_flag_then_the_times() -> None:
    bodies = seeded()[:2]
    for body in bodies:
        body["status"]["sla"].pop("responseOutcome")
    bodies[1]["status"]["sla"]["responseBreached"] = False  # n2: 50 min against 30: late
    s = summarize(bodies, Month.parse(MONTH), now=NOW)
    assert (s.response.met, s.response.breached) == (1, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "nov", ""])
def test_a_bad_month_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        Month.parse(text)


def test_the_company_keeps_a_final_month_and_does_not_compute_it_again() -> None:
    company: dict = {"status": {}}
    # During December: November (previous) is final, December has nothing yet.
    first = store.refresh(company, seeded(), now=NOW)
    assert first is not None and [r["month"] for r in first] == ["2026-11"]
    assert first[0]["final"] is True and first[0]["incidents"] == 6
    company["status"]["monthlyReports"] = first
    # Retention removed November's incidents: the stored numbers stay, nothing is written.
    assert store.refresh(company, [], now=NOW) is None
    summary, source = store.summary_for(company, [], Month.parse(MONTH), now=NOW)
    assert (summary.incidents, source) == (6, "summary")


def test_a_month_in_progress_is_computed_again_and_not_written_when_unchanged() -> None:
    during = datetime(2026, 11, 20, tzinfo=UTC)
    company: dict = {"status": {}}
    written = store.refresh(company, seeded(), now=during)
    assert written is not None
    assert {r["month"]: r["final"] for r in written} == {"2026-10": True, "2026-11": False}
    company["status"]["monthlyReports"] = written
    assert store.refresh(company, seeded(), now=during) is None
    later = seeded()
    later[3]["status"]["sla"]["respondedAt"] = "2026-11-05T09:40:00Z"
    again = store.refresh(company, later, now=during)
    assert again is not None and again[-1]["acknowledge"] != written[-1]["acknowledge"]
    # Early in December November is not final yet: its incidents' late changes still count,
    # but a deletion (retention) never lowers its numbers.
    company["status"]["monthlyReports"] = again
    early = datetime(2026, 12, 3, tzinfo=UTC)
    kept = store.refresh(company, later[:2], now=early)
    assert kept is None or next(r for r in kept if r["month"] == "2026-11")["incidents"] == 6


def test_at_most_24_months_are_kept() -> None:
    months = []
    m = Month.parse("2024-01")
    for _ in range(30):
        months.append({"month": str(m), "computedAt": "2026-01-01T00:00:00Z", "final": True})
        m = m.next()
    company = {"status": {"monthlyReports": months}}
    kept = store.refresh(company, seeded(), now=NOW)
    assert kept is not None and len(kept) == 24 and kept[-1]["month"] == "2026-11"
