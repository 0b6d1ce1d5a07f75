"""Security patching: patch-security-updates against stand-in apt-get, dpkg and dnf installs
security updates only, refuses unsafe starts, verifies nothing is left, never reboots and says
whether a reboot is needed."""

from __future__ import annotations

import pytest
from support.runbooks import Result, Sandbox

SIMULATION = """\
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.7/stable-updates [all])
Inst linux-image-6.1.0-25-amd64 (6.1.106-3 Debian-Security:12/stable-security [amd64])
Conf libssl3 (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
"""
AFTER = "Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.7/stable-updates [all])\n"

APT = r"""
s=$STUB_STATE
case " $* " in
  *" update "*)
    if [[ -e $s/update-fails ]]; then echo "E: Could not resolve a mirror" >&2; exit 100; fi ;;
  *" -s dist-upgrade "*) if [[ -e $s/installed ]]; then cat "$s/after"; else cat "$s/sim"; fi ;;
  *" install "*) echo "$DEBIAN_FRONTEND" > "$s/frontend"; touch "$s/installed" ;;
esac
"""
NEVER = ("shutdown", "reboot", "systemctl")


def debian(sb: Sandbox, *, sim: str = SIMULATION, after: str = AFTER, free_mb: int = 9000) -> None:
    sb.stub("apt-get", APT)
    (sb.state / "sim").write_text(sim)
    (sb.state / "after").write_text(after)
    sb.stub("dpkg", '[[ $1 == --audit ]] && cat "$STUB_STATE/audit" 2>/dev/null; true')
    sb.stub("uname", "echo 6.1.0-18-amd64")
    sb.stub(
        "df",
        "echo 'Filesystem 1048576-blocks Used Available Capacity Mounted on'; "
        f"echo '/dev/sda1 20000 10000 {free_mb} 53% /'",
    )
    sb.write("/boot/vmlinuz-6.1.0-18-amd64")
    for tool in NEVER:
        sb.stub(tool)


def installed(got: Result) -> list[str]:
    return [c.line for c in got.called("apt-get") if "install" in c.args]


def test_only_security_updates_are_installed_and_a_reboot_is_reported(sb: Sandbox) -> None:
    debian(sb)
    sb.write("/boot/vmlinuz-6.1.0-25-amd64")
    sb.write("/run/reboot-required", "*** System restart required ***\n")
    sb.write("/run/reboot-required.pkgs", "linux-image-6.1.0-25-amd64\n")
    got = sb.run("patch-security-updates", EXCLUDE_PACKAGES="openssl")
    assert got.code == 0, got.out
    assert installed(got) == [
        "apt-get -q -o DPkg::Lock::Timeout=300 -y --no-remove --only-upgrade "
        "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        "install libssl3 linux-image-6.1.0-25-amd64"
    ]
    assert (sb.state / "frontend").read_text() == "noninteractive\n"
    assert got.lines("before: ") == ["before: 2 security updates pending (apt), excluded: openssl"]
    assert got.lines("after: ") == ["after: 0 security updates pending"]
    reboot = got.lines("reboot-required: ")
    assert reboot[0].startswith("reboot-required: yes (/run/reboot-required: linux-image")
    assert "kernel 6.1.0-25-amd64 installed, 6.1.0-18-amd64 running" in reboot[0]
    assert not any(got.called(t) for t in NEVER), "patching never reboots or restarts"
    assert got.result == "result: done: installed 2 security updates"


def test_nothing_pending_has_nothing_to_do_and_no_reboot(sb: Sandbox) -> None:
    debian(sb, sim=AFTER)
    got = sb.run("patch-security-updates")
    assert got.code == 3 and installed(got) == [], got.out
    assert got.lines("reboot-required: ") == ["reboot-required: no"]


def test_report_only_lists_and_installs_nothing(sb: Sandbox) -> None:
    debian(sb)
    got = sb.run("patch-security-updates", REPORT_ONLY="true")
    assert got.code == 0 and installed(got) == []
    assert "  openssl" in got.out.splitlines() and "REPORT_ONLY=true" in got.result


def test_half_installed_packages_or_a_full_disk_refuse_the_run(sb: Sandbox) -> None:
    debian(sb)
    (sb.state / "audit").write_text("The following packages are only half configured: nginx\n")
    got = sb.run("patch-security-updates")
    assert got.code == 2 and "half-installed" in got.result
    assert got.called("apt-get") == [], "not even apt-get update"
    debian(sb, free_mb=200)
    (sb.state / "audit").unlink()
    got = sb.run("patch-security-updates")
    assert got.code == 2 and "only 200 MiB free on /var" in got.result


def test_what_stays_pending_or_a_failed_update_is_a_failure(sb: Sandbox) -> None:
    debian(sb, after=SIMULATION)
    got = sb.run("patch-security-updates")
    assert got.code == 1 and "still pending after installing: libssl3" in got.result, got.out
    debian(sb)
    (sb.state / "update-fails").touch()
    got = sb.run("patch-security-updates")
    assert got.code == 1 and "apt-get update failed" in got.result and installed(got) == []


DNF = r"""
s=$STUB_STATE
case " $* " in
  *" check-update "*)
    if [[ -e $s/installed ]]; then exit 0; fi
    printf '\n%s   %s   baseos\n' openssl-libs.x86_64 1:3.0.7-25.el9 kernel.x86_64 5.14.0-362.el9
    exit 100 ;;
  *" upgrade "*) touch "$s/installed" ;;
esac
"""


def test_dnf_upgrades_security_only_with_the_exclusions(sb: Sandbox) -> None:
    sb.stub("dnf", DNF)
    sb.stub("needs-restarting", "exit 1")
    sb.stub("uname", "echo 5.14.0-362.18.1.el9_3.x86_64")
    sb.stub("df", "echo h; echo '/dev/sda1 20000 10000 9000 53% /'")
    got = sb.run("patch-security-updates", EXCLUDE_PACKAGES="postgresql-server")
    assert got.code == 0, got.out
    assert [c.line for c in got.called("dnf") if "upgrade" in c.args] == [
        "dnf -y --security --exclude=postgresql-server upgrade"
    ]
    assert got.lines("before: ") == ["before: 2 security updates pending (dnf)"]
    assert got.lines("reboot-required: ") == ["reboot-required: yes (needs-restarting -r says so)"]


@pytest.mark.parametrize("tools", [(), ("yum",)])
def test_without_apt_or_dnf(sb: Sandbox, tools: tuple[str, ...]) -> None:
    for tool in tools:
        sb.stub(tool, "exit 1")
    sb.stub("df", "echo h; echo '/dev/sda1 20000 10000 9000 53% /'")
    got = sb.run("patch-security-updates")
    if tools:
        assert got.code == 1 and "yum cannot list the security updates" in got.result
    else:
        assert got.code == 3 and "no apt-get, dnf or yum" in got.result
