"""Every built-in signal with an obvious fix has a runbook the chooser picks for it, on each
platform the fix applies to; the signals without one say why. The choice is the operator's own
(`choose_runbook`) over the library as synced from git."""

from __future__ import annotations

import pytest
import yaml
from support.cluster import REPO
from support.runbooks import library, signal_rules

from whisperer.operator.services.facts import AssetFacts, facts_of
from whisperer.operator.services.remediation import choose_runbook
from whisperer.operator.services.signals import Taxonomy, default_rules
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

LINUX, WINDOWS = "linux", "windows"

# (signal, platform, asset tags) -> the runbook the chooser must pick for a high-severity
# incident. A read-only report comes first where the fix depends on what it finds (which
# process, which query); the fix itself matches too, and a technician can pick it.
EXPECTED: list[tuple[str, str, dict[str, str], str]] = [
    ("host-unreachable", LINUX, {}, "reboot-host"),
    ("host-unreachable", WINDOWS, {}, "reboot-windows"),
    ("service-down", LINUX, {}, "restart-systemd-service"),
    ("service-down", LINUX, {"web": "nginx"}, "reload-nginx"),
    ("service-down", LINUX, {"web": "apache"}, "reload-apache"),
    ("service-down", WINDOWS, {}, "restart-windows-service"),
    ("service-down", WINDOWS, {"web": "iis"}, "recycle-iis-app-pool"),
    ("process-crashed", LINUX, {}, "restart-systemd-service"),
    ("process-crashed", WINDOWS, {}, "restart-windows-service"),
    ("database-down", LINUX, {"db": "postgresql"}, "restart-systemd-service"),
    ("database-down", WINDOWS, {}, "restart-windows-service"),
    ("http-error-rate", LINUX, {}, "restart-systemd-service"),
    ("http-error-rate", LINUX, {"web": "nginx"}, "reload-nginx"),
    ("http-error-rate", WINDOWS, {}, "restart-windows-service"),
    ("http-error-rate", WINDOWS, {"web": "iis"}, "recycle-iis-app-pool"),
    ("cpu-high", LINUX, {}, "report-top-processes"),
    ("cpu-high", WINDOWS, {}, "report-top-processes-windows"),
    ("memory-high", LINUX, {}, "report-top-processes"),
    ("memory-high", WINDOWS, {}, "report-top-processes-windows"),
    ("disk-io", LINUX, {}, "report-top-processes"),
    ("disk-io", WINDOWS, {}, "report-top-processes-windows"),
    ("latency-high", LINUX, {}, "report-top-processes"),
    ("latency-high", WINDOWS, {}, "report-top-processes-windows"),
    ("disk-space-low", LINUX, {}, "free-disk-space"),
    ("disk-space-low", WINDOWS, {}, "clean-temp-windows"),
    ("inode-exhaustion", LINUX, {}, "report-disk-usage"),
    ("database-connections", LINUX, {"db": "mysql"}, "mysql-health-check"),
    ("database-connections", LINUX, {"db": "postgresql"}, "postgresql-health-check"),
    ("replication-lag", LINUX, {"db": "mysql"}, "mysql-health-check"),
    ("replication-lag", LINUX, {"db": "postgresql"}, "postgresql-health-check"),
    ("slow-queries", LINUX, {"db": "mysql"}, "mysql-health-check"),
    ("slow-queries", LINUX, {"db": "postgresql"}, "postgresql-health-check"),
    ("deadlocks", LINUX, {"db": "mysql"}, "mysql-health-check"),
    ("deadlocks", LINUX, {"db": "postgresql"}, "postgresql-health-check"),
    ("certificate-expiring", LINUX, {}, "renew-certificates"),
    ("dns-failure", LINUX, {}, "flush-dns-cache"),
    ("dns-failure", WINDOWS, {}, "flush-dns-cache-windows"),
    ("clock-skew", LINUX, {}, "resync-time"),
    ("clock-skew", WINDOWS, {}, "resync-time-windows"),
    # Signals the library adds with its own SignalRules (runbooks/signals/).
    ("security-updates-pending", LINUX, {}, "patch-security-updates"),
    ("security-updates-pending", WINDOWS, {}, "patch-security-updates-windows"),
    ("permission-denied", LINUX, {}, "repair-permissions"),
]

# Signals (or a signal on one platform) without an obvious fix a script could apply, and why.
# Where a read-only report helps, it may match; nothing else may.
NO_OBVIOUS_FIX: dict[str | tuple[str, str], str] = {
    "host-down": "the host is off or crashed: no agent runs a script on it; starting it is a "
    "cloud or hypervisor action",
    "pod-crash-looping": "a Kubernetes workload: fixed through the cluster's API and the "
    "workload's manifests, not by a script on a server",
    "pod-not-ready": "a Kubernetes workload, as above",
    "raid-degraded": "a failed disk is replaced by hand; a script cannot rebuild what broke",
    "backup-failed": "rerunning a backup is the backup product's business (its scheduler, its "
    "retention); report-recent-errors shows why it failed",
    "job-failed": "rerunning a job is safe only if the job is idempotent, which a runbook "
    "cannot know; report-recent-errors shows why it failed",
    "queue-depth": "a backlog means consumers are slow or gone: the fix lives in the "
    "application, not on the host",
    "security-event": "an intrusion or a malware alert needs a person's judgement; an "
    "automatic action can destroy evidence or lock users out",
    "network-packet-loss": "loss is on the path (links, switches, the provider), not on the "
    "host; check-connectivity measures it from a server",
    "network-interface-down": "usually a switch or firewall port seen over SNMP; bringing a "
    "server's own link up from the server can cut the agent's path to it",
    "network-bandwidth": "traffic volume is a capacity question, not a fault to repair",
    "vpn-down": "tunnels end on firewalls and cloud gateways, not on servers the agent runs "
    "on; check-connectivity shows what a server can still reach",
    "power-supply": "hardware: a person replaces the power supply",
    "temperature-high": "hardware and the room: cooling, fans, airflow",
    "license-expiring": "a purchase, not a script",
    ("inode-exhaustion", WINDOWS): "NTFS has no inode table to exhaust",
    ("database-connections", WINDOWS): "SQL Server has no runbook in the library yet",
    ("replication-lag", WINDOWS): "SQL Server has no runbook in the library yet",
    ("slow-queries", WINDOWS): "SQL Server has no runbook in the library yet",
    ("deadlocks", WINDOWS): "SQL Server has no runbook in the library yet",
    ("certificate-expiring", WINDOWS): "Windows certificates renew through AD CS "
    "auto-enrolment, IIS's certificate store or a vendor's agent: no one script fits",
    ("permission-denied", WINDOWS): "NTFS permissions are ACLs an application defines; "
    "repairing them needs the application's own list",
}


def choose(signal: str, platform: str, tags: dict[str, str], severity: str = "high") -> str | None:
    got = choose_runbook(
        library().values(),
        company_namespace="company-acme-dental",
        signal=signal,
        severity=severity,
        asset=AssetFacts(platform=platform, tags=tags),
        auto_run_low_risk=True,
    )
    if got is None:
        return None
    namespace, name = got.runbook.split("/")
    assert namespace == PLATFORM_NAMESPACE
    return name


def every_signal() -> set[str]:
    built_in = {r.signal.name for r in default_rules()}
    return built_in | {r.spec.signal for r in signal_rules()}


def test_every_signal_has_a_runbook_or_a_reason() -> None:
    fixed = {(s, p) for s, p, _, _ in EXPECTED}
    for signal in sorted(every_signal()):
        for platform in (LINUX, WINDOWS):
            if (signal, platform) in fixed:
                assert signal not in NO_OBVIOUS_FIX, f"{signal}: a fix and a reason both"
                continue
            assert signal in NO_OBVIOUS_FIX or (signal, platform) in NO_OBVIOUS_FIX, (
                f"{signal} on {platform}: no runbook, and no reason why not"
            )
    listed = {k if isinstance(k, str) else k[0] for k in NO_OBVIOUS_FIX}
    assert listed <= every_signal(), "reasons only for signals that exist"


@pytest.mark.parametrize(
    ("signal", "platform", "tags", "want"),
    EXPECTED,
    ids=[f"{s}-{p}-{'-'.join(t.values()) or 'untagged'}" for s, p, t, _ in EXPECTED],
)
def test_the_chooser_picks_the_runbook_for_the_signal(
    signal: str, platform: str, tags: dict[str, str], want: str
) -> None:
    assert choose(signal, platform, tags) == want
    assert library()[want].spec.platform == platform


@pytest.mark.parametrize("key", sorted(NO_OBVIOUS_FIX, key=str), ids=str)
def test_signals_without_a_fix_get_at_most_a_read_only_report(key: str | tuple[str, str]) -> None:
    signal, platforms = (key, (LINUX, WINDOWS)) if isinstance(key, str) else (key[0], (key[1],))
    for platform in platforms:
        for tags in ({}, {"db": "mysql"}, {"web": "iis"}):
            name = choose(signal, platform, tags)
            if name is not None:
                book = library()[name]
                assert book.spec.risk == "low" and name.startswith(("report-", "check-")), name


def test_a_reboot_is_never_proposed_for_a_minor_alert() -> None:
    assert choose("host-unreachable", LINUX, {}, severity="high") == "reboot-host"
    for severity in ("medium", "low", "info"):
        assert choose("host-unreachable", LINUX, {}, severity=severity) is None


def test_the_least_risky_fix_wins_and_what_runs_by_itself_is_low_risk() -> None:
    for signal, platform, tags, want in EXPECTED:
        got = choose_runbook(
            library().values(),
            company_namespace="company-acme-dental",
            signal=signal,
            severity="critical",
            asset=AssetFacts(platform=platform, tags=tags),
            auto_run_low_risk=True,
        )
        assert got is not None and got.runbook.endswith(f"/{want}")
        assert got.auto_run == (library()[want].spec.risk == "low")


@pytest.mark.parametrize(
    ("alert", "signal"),
    [
        ("Security updates available", "security-updates-pending"),
        ("12 security patches missing on db01", "security-updates-pending"),
        ("PatchCompliance NonCompliant patches", "security-updates-pending"),
        ("Brute force login attempts", "security-event"),
        ("Permission denied writing /var/www/shop/uploads", "permission-denied"),
        ("EACCES in app log", "permission-denied"),
        ("HostDown", "host-down"),
    ],
)
def test_the_library_signal_rules_name_their_alerts(alert: str, signal: str) -> None:
    assert Taxonomy.build(signal_rules()).classify(alert).name == signal


@pytest.mark.parametrize(
    ("company", "asset", "signal", "want"),
    [
        ("acme-dental", "pm-db01", "replication-lag", "postgresql-health-check"),
        ("acme-dental", "pm-app01", "service-down", "reload-nginx"),
        ("acme-dental", "clinic-fs01", "disk-space-low", "clean-temp-windows"),
        ("globex-logistics", "tms-web01", "http-error-rate", "recycle-iis-app-pool"),
        ("globex-logistics", "tms-sql01", "slow-queries", None),
    ],
)
def test_the_example_companies_assets_get_their_runbooks(
    company: str, asset: str, signal: str, want: str | None
) -> None:
    """The example config's asset tags (db, web) lead to the engine's own runbook."""
    spec = yaml.safe_load((REPO / "manifests/config/companies" / f"{company}.yaml").read_text())
    facts = facts_of(spec["spec"]).assets[asset]
    assert choose(signal, facts.platform, dict(facts.tags)) == want
