"""Correlation decisions, in memory, on event time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from whisperer.operator.services.correlation import (
    AlertFacts,
    Correlator,
    priority,
    state_changes,
)
from whisperer.operator.services.correlation.incidents import incident_status, remembered

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
TOPOLOGY = {"web01": ("app01",), "app01": ("db01",), "db01": ()}


def facts(
    name: str,
    *,
    asset: str = "db01",
    signal: str = "disk-space-low",
    category: str = "storage",
    source: str = "alertmanager",
    minutes: float = 0,
    severity: str = "high",
) -> AlertFacts:
    return AlertFacts(
        company="acme",
        name=name,
        asset=asset,
        signal=signal,
        category=category,
        severity=severity,
        source=source,
        at=T0 + timedelta(minutes=minutes),
    )


def decide(c: Correlator, f: AlertFacts) -> tuple[str, bool, str]:
    d = c.decide(f, new_name=f"inc-{f.name}", window=WINDOW, depends_on=TOPOLOGY)
    return d.incident, d.new, d.pattern


def test_the_same_problem_from_three_tools_is_one_multi_source_incident() -> None:
    c = Correlator()
    assert decide(c, facts("a")) == ("inc-a", True, "single")
    assert decide(c, facts("b", source="datadog", minutes=2))[:2] == ("inc-a", False)
    assert decide(c, facts("c", source="zabbix", minutes=3)) == ("inc-a", False, "multi-source")
    (incident,) = c.open_incidents("acme")
    assert incident.sources == {"alertmanager", "datadog", "zabbix"}


def test_an_alert_after_the_window_opens_a_new_incident() -> None:
    c = Correlator()
    decide(c, facts("a"))
    assert decide(c, facts("b", minutes=14))[0] == "inc-a"
    assert decide(c, facts("late", minutes=14 + 16)) == ("inc-late", True, "single")


def test_a_late_delivery_lands_in_the_incident_of_its_event_time() -> None:
    c = Correlator()
    decide(c, facts("a", minutes=30))
    assert decide(c, facts("early", minutes=20))[0] == "inc-a"  # arrived later, happened earlier


def test_host_down_takes_what_depends_on_it_transitively() -> None:
    c = Correlator()
    assert decide(c, facts("down", signal="host-down", category="availability"))[1] is True
    assert decide(
        c, facts("app", asset="app01", signal="http-error-rate", category="application", minutes=1)
    ) == ("inc-down", False, "cascade")
    assert (
        decide(
            c, facts("web", asset="web01", signal="latency-high", category="application", minutes=2)
        )[0]
        == "inc-down"
    )
    # Something on a host that does not depend on db01 is its own problem.
    assert (
        decide(c, facts("other", asset="mail01", signal="cpu-high", category="compute", minutes=2))[
            1
        ]
        is True
    )


def test_a_non_availability_problem_does_not_absorb_dependants() -> None:
    c = Correlator()
    decide(c, facts("disk"))
    assert (
        decide(
            c,
            facts(
                "app", asset="app01", signal="http-error-rate", category="application", minutes=1
            ),
        )[1]
        is True
    )


def test_the_same_alert_twice_is_one_decision() -> None:
    c = Correlator()
    first = decide(c, facts("a"))
    assert decide(c, facts("a", minutes=1))[0] == first[0]
    assert len(c.open_incidents("acme")[0].alerts) == 1


def test_priority_rises_with_severity_criticality_and_sources() -> None:
    assert priority(severity="critical", critical_asset=True, alerts=3, multi_source=True) == (
        93,
        "P1",
    )
    assert priority(severity="high", critical_asset=False, alerts=1, multi_source=False)[1] == "P3"
    assert priority(severity="info", critical_asset=False, alerts=1, multi_source=False)[1] == "P5"
    low, _ = priority(severity="medium", critical_asset=False, alerts=1, multi_source=False)
    high, _ = priority(severity="medium", critical_asset=True, alerts=1, multi_source=False)
    assert high > low


def test_a_storm_becomes_one_incident_per_signal() -> None:
    c = Correlator(storm_threshold=5)
    names = [
        decide(
            c,
            facts(
                f"s{i}",
                asset=f"host{i}",
                signal="network-packet-loss",
                category="network",
                minutes=i / 60,
            ),
        )[0]
        for i in range(40)
    ]
    storm = names[-1]
    assert names.count(storm) == 40 - 4  # the first four came before the threshold...
    (incident,) = [i for i in c.open_incidents("acme") if i.name == storm]
    assert incident.pattern == "storm"
    assert incident.key == "storm|network-packet-loss"
    assert len(incident.assets) == 40  # ...and the storm took their incidents in
    assert {i.name for i in c.open_incidents("acme")} == {storm}
    # News of an alert from before the threshold reaches the storm.
    assert c.alert_resolved("acme", names[0], "s0", T0) is incident
    # A different signal in the same minute is not swept into it.
    assert (
        decide(c, facts("other", asset="x", signal="cpu-high", category="compute", minutes=0.5))[0]
        != storm
    )


def test_no_storm_below_the_threshold() -> None:
    c = Correlator(storm_threshold=50)
    patterns = {decide(c, facts(f"s{i}", asset=f"host{i}", minutes=i / 60))[2] for i in range(40)}
    assert "storm" not in patterns
    assert len(c.open_incidents("acme")) == 40


def test_a_periodic_problem_joins_its_first_incident_from_the_third_time() -> None:
    c = Correlator()
    day = 24 * 60
    first = decide(c, facts("n0", signal="backup-failed", category="backup"))
    second = decide(c, facts("n1", signal="backup-failed", category="backup", minutes=day))
    third = decide(c, facts("n2", signal="backup-failed", category="backup", minutes=2 * day))
    assert second[1] is True  # two occurrences are not yet a pattern
    assert third == (first[0], False, "periodic")
    # Once the rhythm is clear, the second night's incident joins the first's.
    (series,) = [i for i in c.open_incidents("acme") if i.name == first[0]]
    assert series.alerts == {"n0", "n1", "n2"}
    assert second[0] not in {i.name for i in c.open_incidents("acme")}
    irregular = decide(
        c, facts("n3", signal="backup-failed", category="backup", minutes=2 * day + 300)
    )
    assert irregular[1] is True  # five hours later breaks the rhythm: a new incident
    assert irregular[2] == "single"


def test_a_resolved_incident_reopens_within_the_window_by_event_time() -> None:
    c = Correlator()
    name, _, _ = decide(c, facts("a"))
    c.alert_resolved(
        "acme", name, "a", T0 + timedelta(minutes=5), event_at=T0 + timedelta(minutes=5)
    )
    (quiet,) = c.open_incidents("acme")
    assert quiet.firing == set() and quiet.quiet_since is not None
    c.incident_resolved("acme", name, T0 + timedelta(minutes=15))
    assert c.open_incidents("acme") == []
    again = c.decide(
        facts("b", minutes=50),
        new_name="inc-b",
        window=WINDOW,
        depends_on=TOPOLOGY,
        reopen_window=timedelta(hours=1),
    )
    assert (again.incident, again.reopened) == (name, True)
    (reopened,) = c.open_incidents("acme")
    assert reopened.reopened == 1 and reopened.firing == {"b"}
    c.incident_resolved("acme", name, T0)
    late = c.decide(
        facts("c", minutes=200),
        new_name="inc-c",
        window=WINDOW,
        depends_on=TOPOLOGY,
        reopen_window=timedelta(hours=1),
    )
    assert late.new and late.incident == "inc-c"


def test_a_refiring_alert_makes_the_incident_loud_again() -> None:
    c = Correlator()
    name, _, _ = decide(c, facts("a"))
    c.alert_resolved("acme", name, "a", T0)
    c.alert_refired("acme", name, "a")
    (incident,) = c.open_incidents("acme")
    assert incident.firing == {"a"} and incident.quiet_since is None


def test_changes_of_state_are_kept_within_the_window() -> None:
    window = timedelta(minutes=10)
    times: list[datetime] = []
    counts = []
    for m in (1, 2, 3, 20, 21, 22, 23):
        times = state_changes(times, T0 + timedelta(minutes=m), window)
        counts.append(len(times))
    # Three changes, then a pause longer than the window, then four within it.
    assert counts == [1, 2, 3, 1, 2, 3, 4]
    # A late delivery counts where it belongs, the window runs from the latest.
    assert len(state_changes(times, T0 + timedelta(minutes=5), window)) == 4


def test_only_a_plain_incident_is_marked_flapping() -> None:
    c = Correlator(storm_threshold=3)
    decide(c, facts("a1", minutes=0, asset="solo", signal="service-down"))
    plain = next(i for i in c.open_incidents("acme") if i.cause_asset == "solo")
    for n in range(4):
        decide(c, facts(f"s{n}", minutes=0, asset=f"h{n}", signal="network-packet-loss"))
    storm = next(i for i in c.open_incidents("acme") if i.pattern == "storm")
    c.mark_flapping(plain)
    c.mark_flapping(storm)
    assert (plain.pattern, storm.pattern) == ("flapping", "storm")


def test_the_storm_threshold_can_be_given_per_decision() -> None:
    c = Correlator()
    results = [
        c.decide(
            facts(f"x{n}", minutes=0, asset=f"h{n}"),
            new_name=f"inc-x{n}",
            window=timedelta(minutes=15),
            depends_on={},
            storm_threshold=5,
        ).pattern
        for n in range(6)
    ]
    assert results[:4] == ["single"] * 4
    assert results[4:] == ["storm", "storm"]


def test_a_host_down_that_turns_up_late_takes_its_dependants_incidents_in() -> None:
    c = Correlator()
    web = decide(c, facts("w", asset="web01", signal="http-errors", category="application"))
    app = decide(c, facts("a", asset="app01", signal="latency-high", category="application"))
    other = decide(c, facts("o", asset="mail01", signal="latency-high", category="application"))
    decision = c.decide(
        facts("d", asset="db01", signal="host-down", category="availability", minutes=2),
        new_name="inc-d",
        window=WINDOW,
        depends_on=TOPOLOGY,
    )
    assert decision.new and decision.pattern == "cascade"
    assert decision.absorbed == tuple(sorted((web[0], app[0])))
    [cause] = [i for i in c.open_incidents("acme") if i.name == "inc-d"]
    assert cause.alerts == {"w", "a", "d"} and cause.cause_asset == "db01"
    assert {i.name for i in c.open_incidents("acme")} == {"inc-d", other[0]}
    # News of an absorbed incident's alert reaches the incident that took it in.
    found = c.alert_resolved("acme", web[0], "w", T0, event_at=T0)
    assert found is cause and "w" not in cause.firing


def test_a_late_non_availability_problem_absorbs_nothing() -> None:
    c = Correlator()
    decide(c, facts("w", asset="web01", signal="http-errors", category="application"))
    decision = c.decide(
        facts("d", asset="db01", signal="cpu-high", category="compute", minutes=2),
        new_name="inc-d",
        window=WINDOW,
        depends_on=TOPOLOGY,
    )
    assert decision.absorbed == ()


def test_a_longer_lasting_problem_scores_higher_up_to_ten_points() -> None:
    base = {"severity": "high", "critical_asset": False, "alerts": 1, "multi_source": False}
    fresh, _ = priority(**base)
    half_hour, _ = priority(**base, age=timedelta(minutes=30))
    day, _ = priority(**base, age=timedelta(days=1))
    assert (half_hour - fresh, day - fresh) == (5, 10)


def test_a_periodic_problem_reopens_its_resolved_incident_instead_of_opening_one() -> None:
    c = Correlator()
    day = 24 * 60
    names = []
    for n in range(3):
        name, _, _ = decide(
            c, facts(f"b{n}", signal="backup-failed", category="backup", minutes=n * day)
        )
        names.append(name)
        c.alert_resolved("acme", name, f"b{n}", T0, event_at=T0 + timedelta(minutes=n * day + 5))
        c.incident_resolved("acme", names[0] if n == 2 else name, T0)
    fourth = c.decide(
        facts("b3", signal="backup-failed", category="backup", minutes=3 * day),
        new_name="inc-b3",
        window=WINDOW,
        depends_on=TOPOLOGY,
    )
    assert (fourth.incident, fourth.new, fourth.reopened) == (names[0], False, True)
    assert fourth.pattern == "periodic"


def test_a_periodic_series_is_its_first_incident_whatever_memory_still_holds() -> None:
    """The first occurrence's incident left memory, the second's has not: the series is still
    the first (loaded again), so a replay faster than event time, which keeps both in memory,
    decides the same."""
    c = Correlator()
    hours = 70  # longer than the reopen window: the second occurrence opens its own
    keep = timedelta(hours=1)
    names, kept = [], []
    for n in range(2):
        at = T0 + timedelta(minutes=n * hours)
        name, new, _ = decide(
            c, facts(f"j{n}", signal="backup-failed", category="backup", minutes=n * hours)
        )
        assert new
        c.alert_resolved("acme", name, f"j{n}", at, event_at=at)
        kept.append(c.incident_resolved("acme", name, at, keep=keep))
        names.append(name)
    third = facts("j2", signal="backup-failed", category="backup", minutes=2 * hours)
    assert c.prune(T0 + timedelta(minutes=hours) + timedelta(minutes=5)) == [names[0]]
    asked = c.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY)
    assert (asked.incident, asked.load) == (names[0], True)
    first = kept[0]
    assert first is not None
    c.restore(first)  # as the executor does: read from the API server, remembered again
    decided = c.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY)
    assert (decided.incident, decided.pattern, decided.absorbed) == (
        names[0],
        "periodic",
        (names[1],),
    )
    # Asked once: an incident that cannot be read again does not stop the decision.
    d = Correlator()
    for n in range(2):
        at = T0 + timedelta(minutes=n * hours)
        name, _, _ = decide(
            d, facts(f"j{n}", signal="backup-failed", category="backup", minutes=n * hours)
        )
        d.alert_resolved("acme", name, f"j{n}", at, event_at=at)
        d.incident_resolved("acme", name, at, keep=keep)
    d.prune(T0 + timedelta(minutes=hours) + timedelta(minutes=5))
    assert d.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY).load
    again = d.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY)
    assert not again.load and again.incident == names[1] and again.pattern == "periodic"


def test_a_series_read_back_from_its_stored_incident_keeps_each_occurrence_once() -> None:
    """Alerts carry milliseconds, incidents store seconds: an occurrence remembered in memory
    and the same one read back (a load, a restart) are one occurrence. Counted twice, the
    zero gap between them hid the rhythm and the series was never seen."""
    c = Correlator()
    hours = 70
    at = [T0 + timedelta(minutes=n * hours, milliseconds=555) for n in range(3)]
    names = []
    for n in range(2):
        f = replace(facts(f"j{n}", signal="backup-failed", category="backup"), at=at[n])
        name, _, _ = decide(c, f)
        c.alert_resolved("acme", name, f"j{n}", at[n], event_at=at[n])
        c.incident_resolved("acme", name, at[n], keep=timedelta(hours=1))
        names.append(name)
    first = c.find("acme", names[0])
    assert first is not None
    stored = {
        "metadata": {"name": names[0], "namespace": "company-acme"},
        "status": {
            **incident_status(first, critical_assets=frozenset(), latest="j0"),
            "phase": "Resolved",
        },
    }
    c.prune(at[1] + timedelta(minutes=5))
    assert c.find("acme", names[0]) is None
    third = replace(facts("j2", signal="backup-failed", category="backup"), at=at[2])
    asked = c.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY)
    assert (asked.incident, asked.load) == (names[0], True)
    read = remembered(stored, category_of=lambda signal: "backup")
    assert read is not None
    c.restore(read)
    decided = c.decide(third, new_name="inc-j2", window=WINDOW, depends_on=TOPOLOGY)
    assert (decided.incident, decided.pattern) == (names[0], "periodic")


def test_the_first_alert_is_kept_when_the_bounded_refs_move_on() -> None:
    c = Correlator()
    for n in range(80):
        decide(c, facts(f"a{n}", minutes=n / 10))
    (incident,) = c.open_incidents("acme")
    assert len(incident.refs) == 50 and incident.refs[0]["name"] == "a30"
    assert incident.first_ref is not None and incident.first_ref["name"] == "a0"
    # A late delivery from before the first becomes the first.
    decide(c, facts("early", minutes=-1))
    assert incident.first_ref["name"] == "early"
