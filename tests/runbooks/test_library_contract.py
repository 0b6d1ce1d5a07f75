"""Every runbook keeps the library's contract: where it lives, a justified risk, a timeout, what
it matches, typed parameters checked again by the script itself, one exit-code convention."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from support.cluster import REPO
from support.runbooks import (
    BASH,
    LIBRARY,
    bash_runbooks,
    declared_in_script,
    documents,
    library,
    signal_rules,
)

from whisperer.operator.models.v1alpha1 import Runbook
from whisperer.operator.services.gitsync import build, validate
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

BOOKS = sorted(library().values(), key=lambda b: b.metadata.name)
IDS = [b.metadata.name for b in BOOKS]

DATA = Path(__file__).parent / "data"
COMMON_BASH = (DATA / "common.bash").read_text()
COMMON_POWERSHELL = (DATA / "common.ps1").read_text()
HEADER = (
    "# Exit codes: 0 done and verified, 1 failed, 2 refused (nothing changed), 3 nothing to do."
)

# What a script does that rules out "low": restarting, rebooting, installing, killing,
# changing modes. A low-risk runbook must do none of it.
NOT_LOW = re.compile(
    r"systemctl (restart|reload|start)|shutdown(\.exe)? [-/]r|Restart-(Service|Computer|WebAppPool)"
    r"|apt-get .*install|(dnf|yum)\"? .*upgrade|\.Install\(\)|kill -(TERM|KILL)|Stop-Process"
    r"|chmod|chown|drop_caches|certbot renew"
)
# Low-risk runbooks that restart something all the same, and why that is harmless.
RESTARTS_THAT_ARE_LOW = {
    "resync-time": "restarts systemd-timesyncd only: a time client serves no one",
}
# Constructs outside what POSIX ERE (bash's =~), RE2 (the API server) and Python share.
NOT_PORTABLE = re.compile(r"\\[dDwWsSbB]|\(\?|[*+?}]\?")
BRACKETS = re.compile(r"\[[^\]]*\]")


def test_the_library_has_at_least_24_runbooks_on_both_platforms() -> None:
    platforms = {b.spec.platform for b in BOOKS}
    assert len(BOOKS) >= 24 and platforms == {"linux", "windows"}
    assert len(set(IDS)) == len(IDS), "runbook names are unique in the platform namespace"


@pytest.mark.parametrize("book", BOOKS, ids=IDS)
def test_lives_in_its_platform_folder_under_its_name(book: Runbook) -> None:
    path = next(p for p, d in documents() if d["metadata"]["name"] == book.metadata.name)
    assert path.relative_to(LIBRARY).parts == (book.spec.platform, f"{book.metadata.name}.yaml")
    assert book.metadata.namespace == PLATFORM_NAMESPACE
    assert (book.spec.shell == "powershell") == (book.spec.platform == "windows")


@pytest.mark.parametrize("book", BOOKS, ids=IDS)
def test_says_its_risk_timeout_and_what_it_matches(book: Runbook) -> None:
    raw = next(d for _, d in documents() if d["metadata"]["name"] == book.metadata.name)
    assert "timeout" in raw["spec"], "the timeout is chosen, not defaulted"
    assert book.spec.matches.signals, "every runbook says which signals it is for"
    assert len(book.spec.description) >= 200, "the description justifies the risk"
    if book.spec.risk == "low":
        found = NOT_LOW.search(book.spec.script)
        if book.metadata.name in RESTARTS_THAT_ARE_LOW and found:
            assert found[0] == "systemctl restart"
            assert (
                "systemd-timesyncd" in book.spec.description
                and "time client" in book.spec.description
            )
        else:
            assert not found, "restarts, reboots, patches and kills are not low risk"
        assert "Low risk" in book.spec.description
    else:
        assert f"{str(book.spec.risk).capitalize()} risk" in book.spec.description
    for word in ("restart", "reboot", "patch"):
        if word in book.metadata.name:
            assert book.spec.risk != "low", f"a {word} is never low risk"


@pytest.mark.parametrize("book", BOOKS, ids=IDS)
def test_every_parameter_is_typed_and_checked_again_by_the_script(book: Runbook) -> None:
    in_script = declared_in_script(book)
    assert set(in_script) == {p.name for p in book.spec.parameters}, "the script checks each one"
    for p in book.spec.parameters:
        assert p.pattern and p.description, p.name
        assert p.pattern.startswith("^") and p.pattern.endswith("$"), p.name
        outside = BRACKETS.sub("", p.pattern)
        portable = not NOT_PORTABLE.search(outside) and "\\" not in "".join(
            BRACKETS.findall(p.pattern)
        )
        assert portable, f"{p.name}: {p.pattern} is not portable (POSIX ERE, RE2, Python)"
        regex = re.compile(p.pattern)
        pattern, default = in_script[p.name]
        assert pattern == p.pattern, f"{p.name}: the script checks another pattern"
        if p.required:
            assert p.default is None and default is None and not regex.fullmatch("")
        else:
            assert p.default is not None, f"{p.name}: an optional parameter has a default"
            assert default == p.default, f"{p.name}: the script's default differs"
            assert regex.fullmatch(p.default), f"{p.name}: the default fails the pattern"
        for value in p.allowed_values or []:
            assert regex.fullmatch(value), f"{p.name}: allowed value {value!r} fails the pattern"
        assert p.name != "AW_TEST_ROOT", "the test root is never a parameter"


@pytest.mark.parametrize("book", BOOKS, ids=IDS)
def test_one_common_part_and_exit_convention(book: Runbook) -> None:
    script = book.spec.script
    lines = script.splitlines()
    if book.spec.shell == "bash":
        assert lines[0] == "#!/usr/bin/env bash"
        lines = lines[1:]
        common, first_param = COMMON_BASH, "\nparam "
    else:
        common, first_param = COMMON_POWERSHELL, "Get-Param '"
    assert lines[0].startswith("# ") and lines[1] == HEADER
    assert common in script, "the common part, word for word"
    if book.spec.parameters:
        assert script.index(common) < script.index(first_param), "parameters checked first"
    codes = {int(c) for c in re.findall(r"\bexit (\d+)", script)}
    assert codes <= {0, 1, 2, 3}, f"exit codes outside the convention: {codes}"


@pytest.mark.parametrize("book", BOOKS, ids=IDS)
def test_never_evaluates_text_as_code(book: Runbook) -> None:
    script = book.spec.script
    assert not re.search(r"\beval\b|Invoke-Expression|\biex\b|ScriptBlock\]::Create", script)
    if book.spec.shell == "bash":
        # Parameters are read through `param` only; nothing sources or pipes text into a shell.
        assert not re.search(r"\|\s*(ba)?sh\s*($|[;&)-])|^\s*(source|\.)\s", script, re.M)


def test_bash_accepts_every_pattern_as_it_reads_it() -> None:
    """The patterns mean the same to bash's =~ as to Python (and RE2): defaults match,
    a value with a trailing newline does not."""
    for book in BOOKS:
        for p in book.spec.parameters:
            samples = [v for v in (p.default, *(p.allowed_values or [])) if v]
            for value in samples:
                done = subprocess.run(
                    [BASH, "-c", "[[ $1 =~ $2 ]]", "_", value, p.pattern], check=False
                )
                assert done.returncode == 0, f"{book.metadata.name} {p.name}={value!r}"
                newline = subprocess.run(
                    [BASH, "-c", "[[ $1 =~ $2 ]]", "_", value + "\n", p.pattern], check=False
                )
                assert newline.returncode == 1, f"{book.metadata.name} {p.name} takes a newline"


def test_the_library_ships_the_signal_rules_its_runbooks_need() -> None:
    names = {r.spec.signal for r in signal_rules()}
    assert names == {"security-updates-pending", "permission-denied"}


def test_every_bash_runbook_is_run_by_some_test() -> None:
    """The sandbox tests run each bash runbook, for real or with stand-ins (static: the
    printed list at the end of a run says which ran how)."""
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    run = set(re.findall(r'\.run\(\s*"([a-z0-9-]+)"', sources))
    assert set(bash_runbooks()) <= run, sorted(set(bash_runbooks()) - run)


def test_the_runbook_library_gitsource_builds_and_validates_it() -> None:
    """What the example GitSource (`path: ./runbooks`) syncs: every document, no error."""
    docs = build(REPO, "runbooks")
    validate(docs)
    assert {d.kind.info.kind for d in docs} == {"Runbook", "SignalRule"}
    assert len(docs) == len(documents())


def test_the_docs_table_lists_every_runbook_once() -> None:
    text = (REPO / "docs" / "runbooks.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (linux|windows) \| (low|medium|high):", text, re.M)
    assert sorted((n, p, r) for n, p, r in rows) == sorted(
        (b.metadata.name, b.spec.platform, str(b.spec.risk)) for b in BOOKS
    )
