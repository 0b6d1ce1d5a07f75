"""Certificate renewal: renew-certificates runs certbot's dry run before the renewal (a stand-in
certbot), and checks the certificates with the real openssl on real certificate files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support.runbooks import Sandbox, Unit, real, systemd


def certificate(folder: Path, days: int) -> Path:
    """A real self-signed certificate valid for `days` days."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(folder / "privkey.pem"),
            "-out",
            str(folder / "cert.pem"),
            "-days",
            str(days),
            "-subj",
            "/CN=shop.example.com",
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certificate(tmp_path_factory.mktemp("fresh"), 90)


def server(sb: Sandbox, fresh: Path, *, dry_run_fails: bool = False, renews: bool = True) -> None:
    live = sb.path("/etc/letsencrypt/live")
    certificate(live / "shop.example.com", 5)
    certificate(live / "mail.example.com", 80)
    (live / "README").write_text("do not move these files\n")
    dry = (
        'echo "Challenge failed for domain shop.example.com" >&2; exit 1'
        if dry_run_fails
        else ('echo "The dry run was successful."')
    )
    renew = f'cp {fresh} "$AW_TEST_ROOT/etc/letsencrypt/live/$name/cert.pem"' if renews else ":"
    sb.stub(
        "certbot",
        f"""name=''
args=("$@")
for (( i = 0; i < $#; i++ )); do [[ ${{args[i]}} == --cert-name ]] && name=${{args[i + 1]}}; done
if [[ " $* " == *" --dry-run "* ]]; then {dry}; else {renew}; fi""",
    )


def certbot_calls(got: object) -> list[str]:
    return [c.line for c in got.called("certbot")]  # type: ignore[attr-defined]


def test_a_due_certificate_is_renewed_after_a_dry_run_and_checked(sb: Sandbox, fresh: Path) -> None:
    server(sb, fresh)
    systemd(sb, nginx=Unit(state="active"))
    got = sb.run("renew-certificates", RELOAD_SERVICE="nginx")
    assert got.code == 0, got.out
    assert certbot_calls(got) == [
        "certbot renew --cert-name shop.example.com --dry-run --non-interactive",
        "certbot renew --cert-name shop.example.com --non-interactive --no-random-sleep-on-renew",
    ], "the dry run first, and only the certificate that is due"
    assert "systemctl reload -- nginx.service" in [c.line for c in got.calls]
    before = got.lines("before: ")
    assert any(b.startswith("before: mail.example.com valid until") for b in before)
    assert any(
        b.startswith("before: shop.example.com expires") and b.endswith(": due") for b in before
    )
    assert got.lines("after: ")[0].startswith("after: shop.example.com valid until")
    again = sb.run("renew-certificates", RELOAD_SERVICE="nginx")
    assert again.code == 3 and certbot_calls(again) == [], "renewed: nothing is due any more"
    real("renew-certificates", "real certificates' expiry read by openssl before and after")


def test_a_failed_dry_run_renews_nothing(sb: Sandbox, fresh: Path) -> None:
    server(sb, fresh, dry_run_fails=True)
    got = sb.run("renew-certificates")
    assert got.code == 1 and "dry run failed, not renewed" in got.result, got.out
    assert certbot_calls(got) == [
        "certbot renew --cert-name shop.example.com --dry-run --non-interactive"
    ]
    assert "Challenge failed" in got.out


def test_a_renewal_that_leaves_the_old_certificate_is_a_failure(sb: Sandbox, fresh: Path) -> None:
    server(sb, fresh, renews=False)
    got = sb.run("renew-certificates")
    assert got.code == 1 and "still expires" in got.result


def test_one_named_certificate_and_unknown_names(sb: Sandbox, fresh: Path) -> None:
    server(sb, fresh)
    got = sb.run("renew-certificates", CERT_NAME="mail.example.com")
    assert got.code == 3 and certbot_calls(got) == []
    got = sb.run("renew-certificates", CERT_NAME="www.example.com")
    assert got.code == 2 and "no certificate named www.example.com" in got.result


def test_without_certbot_there_is_nothing_to_renew(sb: Sandbox) -> None:
    assert sb.run("renew-certificates").code == 3
