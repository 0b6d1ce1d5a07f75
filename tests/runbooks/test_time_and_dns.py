"""Clock and DNS: resync-time against stand-in chronyc and timedatectl, flush-dns-cache against
stand-in resolvers; a name checked afterwards resolves through the real getent."""

from __future__ import annotations

import pytest
from support.runbooks import SYSTEMCTL, Result, Sandbox, Unit, systemd

CHRONYC = r"""
s=$STUB_STATE
case $* in
  '-n tracking')
    if [[ -e $s/stepped ]]; then off=0.000021; dir=slow; leap=Normal
    elif [[ -e $s/burst ]]; then off=$(cat "$s/offset"); dir=fast; leap=$(cat "$s/leap")
    else off=$(cat "$s/offset"); dir=fast; leap=$(cat "$s/leap-before")
    fi
    echo "Reference ID    : A9FEA97B (169.254.169.123)"
    echo "System time     : $off seconds $dir of NTP time"
    echo "Leap status     : $leap" ;;
  '-a burst 4/4') touch "$s/burst" ;;
  '-a makestep') touch "$s/stepped" ;;
esac
"""


def chrony(sb: Sandbox, offset: str, *, leap_before: str = "Normal", leap: str = "Normal") -> None:
    sb.stub("chronyc", CHRONYC)
    sb.stub("sleep")
    (sb.state / "offset").write_text(offset)
    (sb.state / "leap-before").write_text(leap_before)
    (sb.state / "leap").write_text(leap)


def chronyc(got: Result) -> list[str]:
    return [" ".join(c.args) for c in got.called("chronyc")]


def test_a_skewed_clock_is_stepped_by_chrony(sb: Sandbox) -> None:
    chrony(sb, "12.5")
    got = sb.run("resync-time")
    assert got.code == 0, got.out
    assert chronyc(got) == [
        "-n tracking",
        "-a burst 4/4",
        "-n tracking",
        "-a makestep",
        "-n tracking",
    ]
    assert got.lines("before: ") == ["before: chrony, offset 12.5 s, leap status Normal"]
    assert got.lines("after: ") == ["after: chrony, offset -0.000021 s, leap status Normal"]


def test_a_clock_in_sync_is_left_alone(sb: Sandbox) -> None:
    chrony(sb, "0.0004")
    got = sb.run("resync-time")
    assert got.code == 3 and chronyc(got) == ["-n tracking"]


def test_a_step_larger_than_allowed_is_refused(sb: Sandbox) -> None:
    chrony(sb, "4000.0")
    got = sb.run("resync-time", MAX_STEP_SECONDS="300")
    assert got.code == 2 and "more than MAX_STEP_SECONDS=300" in got.result
    assert "-a makestep" not in chronyc(got)


def test_no_reachable_time_source_is_a_failure(sb: Sandbox) -> None:
    chrony(sb, "0.0", leap_before="Not synchronised", leap="Not synchronised")
    got = sb.run("resync-time")
    assert got.code == 1 and "reaches no time source" in got.result
    assert "-a makestep" not in chronyc(got)


TIMEDATECTL = r"""
s=$STUB_STATE
case $1 in
  show) if [[ -e $s/restarted ]]; then echo yes; else echo no; fi ;;
  timesync-status)
    if [[ -e $s/restarted ]]; then off=$(cat "$s/offset-after"); else off=$(cat "$s/offset"); fi
    echo "       Server: 192.0.2.1"; echo "       Offset: $off" ;;
  set-ntp) touch "$s/ntp-on" ;;
esac
"""


@pytest.mark.parametrize(
    ("offset", "after", "code"),
    [("+2.5s", "+1.2ms", 0), ("-1.2min", "-310us", 0), ("+900s", "", 2), ("+2.5s", "+2.4s", 1)],
)
def test_systemd_timesyncd_is_restarted_to_resync(
    sb: Sandbox, offset: str, after: str, code: int
) -> None:
    systemd(sb, systemd_timesyncd=Unit(state="active"))
    sb.stub("timedatectl", TIMEDATECTL)
    sb.stub("sleep")
    (sb.state / "offset").write_text(offset)
    (sb.state / "offset-after").write_text(after)
    # The restart is what synchronises the clock here.
    sb.stub("systemctl", '[[ $1 == restart ]] && touch "$STUB_STATE/restarted"\n' + SYSTEMCTL)
    got = sb.run("resync-time")
    assert got.code == code, got.out
    restarts = [c.line for c in got.called("systemctl") if c.args[0] == "restart"]
    if code == 2:
        assert restarts == [] and "more than MAX_STEP_SECONDS" in got.result
        return
    assert restarts == ["systemctl restart systemd-timesyncd.service"]
    assert (sb.state / "ntp-on").exists()
    if code == 0:
        assert got.result == "result: done: clock synchronised by systemd-timesyncd"
    else:
        assert got.result == "result: failed: synchronised but still 2.4 s off"


def test_without_a_time_client_there_is_nothing_to_do(sb: Sandbox) -> None:
    got = sb.run("resync-time")
    assert got.code == 3 and "neither chrony nor systemd-timesyncd" in got.result


RESOLVECTL = r"""
case $1 in
  statistics) if [[ -e $STUB_STATE/flushed ]]; then n=0; else n=42; fi
    echo "Cache"; echo "  Current Cache Size: $n" ;;
  flush-caches) touch "$STUB_STATE/flushed" ;;
  dns) echo "Global: 192.0.2.53" ;;
esac
"""


def test_the_systemd_resolved_cache_is_flushed_and_a_name_checked(sb: Sandbox) -> None:
    systemd(sb, systemd_resolved=Unit(state="active"))
    sb.stub("resolvectl", RESOLVECTL)
    sb.write("/etc/resolv.conf", "nameserver 127.0.0.53\n")
    got = sb.run("flush-dns-cache", CHECK_NAME="localhost")
    assert got.code == 0, got.out
    assert "systemd-resolved: cache 42 -> 0 entries" in got.out
    assert got.lines("after: localhost resolves to"), "the real getent answers"
    assert got.lines("servers: ") == ["servers: 127.0.0.53 "]


def test_a_name_still_unresolvable_after_the_flush_is_a_failure(sb: Sandbox) -> None:
    systemd(sb, systemd_resolved=Unit(state="active"))
    sb.stub("resolvectl", RESOLVECTL)
    sb.stub("getent", "exit 2")
    got = sb.run("flush-dns-cache", CHECK_NAME="erp.example.internal")
    assert got.code == 1 and "erp.example.internal still does not resolve" in got.result


def test_nscd_and_dnsmasq_are_flushed_their_own_way(sb: Sandbox) -> None:
    systemd(sb, nscd=Unit(state="active"), dnsmasq=Unit(state="active"))
    sb.stub("nscd")
    got = sb.run("flush-dns-cache")
    assert got.code == 0, got.out
    assert [c.line for c in got.called("nscd")] == ["nscd -i hosts"]
    assert "systemctl kill -s HUP dnsmasq.service" in [c.line for c in got.calls]
    assert got.result == "result: done: flushed nscd dnsmasq"


def test_no_local_cache_has_nothing_to_flush(sb: Sandbox) -> None:
    systemd(sb)
    got = sb.run("flush-dns-cache")
    assert got.code == 3 and "no local DNS cache runs here" in got.result
