"""Runs the library's bash runbooks in a throwaway sandbox: a folder standing in for /, a PATH
of real basic tools behind recording stand-ins, and a ledger of what ran for real and what ran
with stand-in tools (printed at the end of the run)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from support.cluster import REPO
from whisperer.operator.models.v1alpha1 import Runbook, SignalRule

LIBRARY = REPO / "runbooks"
BASH = shutil.which("bash") or "/bin/bash"

# Real tools every sandbox has: the basic utilities a script may use on any server. Anything
# else (package managers, systemctl, journalctl, nginx, certbot, database clients...) is absent
# unless a test puts a stand-in for it first on PATH.
_REAL_TOOLS = """
    awk basename bash cat chmod chown cp cut date df dirname du env find gawk getent grep gunzip
    gzip head id kill ln ls mkdir mktemp mv nice nproc numfmt openssl pgrep ps readlink realpath
    rm rmdir sed seq sh sleep sort stat tail tee timeout touch tr truncate uniq wc who xargs zcat
"""
REAL_TOOLS = _REAL_TOOLS.split()

SEP = "\x1f"
END = "\x1e"


@functools.cache
def documents() -> tuple[tuple[Path, dict[str, object]], ...]:
    """Every YAML document of the library, with the file it came from."""
    found: list[tuple[Path, dict[str, object]]] = []
    for path in sorted(LIBRARY.rglob("*.yaml")):
        found.extend((path, d) for d in yaml.safe_load_all(path.read_text()) if d)
    return tuple(found)


@functools.cache
def library() -> dict[str, Runbook]:
    """The library's runbooks by name."""
    books = [Runbook.from_body(d) for _, d in documents() if d["kind"] == "Runbook"]
    return {b.metadata.name: b for b in books}


@functools.cache
def signal_rules() -> tuple[SignalRule, ...]:
    """The SignalRules the library ships for the signals its runbooks match."""
    return tuple(SignalRule.from_body(d) for _, d in documents() if d["kind"] == "SignalRule")


def bash_runbooks() -> list[str]:
    """Names of the library's bash runbooks."""
    return sorted(n for n, b in library().items() if b.spec.shell == "bash")


def powershell_runbooks() -> list[str]:
    """Names of the library's PowerShell runbooks."""
    return sorted(n for n, b in library().items() if b.spec.shell == "powershell")


@dataclass
class Ledger:
    """What each runbook's tests did: real effects checked, stand-in tools it called."""

    real: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    stand_ins: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    runs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notes: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """The lines printed at the end of the test run."""
        lines: list[str] = []
        real = sorted(self.real)
        lines.append(
            f"ran for real, effect checked on real files, processes or sockets ({len(real)}):"
        )
        for name in real:
            tools = ", ".join(sorted(self.stand_ins.get(name, ()))) or "none"
            effects = "; ".join(sorted(self.real[name]))
            lines.append(f"  {name}: {effects} [{self.runs[name]} runs; stand-ins: {tools}]")
        standin = sorted(set(self.runs) - set(self.real))
        lines.append(
            f"ran with stand-in tools on PATH, the script's own logic checked ({len(standin)}):"
        )
        for name in standin:
            tools = ", ".join(sorted(self.stand_ins.get(name, ()))) or "none"
            lines.append(f"  {name}: {tools} [{self.runs[name]} runs]")
        never = sorted(set(bash_runbooks()) - set(self.runs))
        if never:
            lines.append(
                f"bash runbooks not run in this session ({len(never)}): {', '.join(never)}"
            )
        lines.extend(self.notes)
        return lines


LEDGER = Ledger()


@dataclass(frozen=True)
class Call:
    """One call of a stand-in tool."""

    tool: str
    args: tuple[str, ...]

    @property
    def line(self) -> str:
        """The call as one space-separated line, for assertions."""
        return " ".join((self.tool, *self.args))


@dataclass(frozen=True)
class Result:
    """How a run ended."""

    code: int
    out: str
    calls: tuple[Call, ...]

    def called(self, tool: str) -> list[Call]:
        """The calls of one stand-in, in order."""
        return [c for c in self.calls if c.tool == tool]

    def lines(self, prefix: str) -> list[str]:
        """Output lines starting with `prefix` (the greppable summary)."""
        return [ln for ln in self.out.splitlines() if ln.startswith(prefix)]

    @property
    def result(self) -> str:
        """The script's last `result:` line."""
        found = self.lines("result: ")
        return found[-1] if found else ""


class Sandbox:
    """A throwaway server: `root` stands in for /, `bin` holds stand-ins, `tools` real tools."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        self.bin = base / "bin"
        self.tools = base / "tools"
        self.home = base / "home"
        self.tmp = base / "tmpdir"
        self.state = base / "state"
        self.log = base / "calls.log"
        for folder in (self.root, self.bin, self.tools, self.home, self.tmp, self.state):
            folder.mkdir(parents=True, exist_ok=True)
        for tool in REAL_TOOLS:
            found = shutil.which(tool)
            if found:
                (self.tools / tool).symlink_to(found)
        self.log.touch()

    def path(self, logical: str) -> Path:
        """A path of the sandboxed server (`/var/log/x`) as a real path under `root`."""
        return self.root / logical.lstrip("/")

    def write(self, logical: str, text: str = "", *, mode: int | None = None) -> Path:
        """Create a file on the sandboxed server."""
        real = self.path(logical)
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(text)
        if mode is not None:
            real.chmod(mode)
        return real

    def stub(self, tool: str, body: str = "exit 0") -> None:
        """A stand-in for `tool`: records its arguments, then runs `body` (bash; "$@" are the
        arguments, $STUB_STATE a folder for state between calls)."""
        script = (
            f"#!{BASH}\n"
            f"{{ printf '%s' {shell_quote(tool)}; "
            f"for a in \"$@\"; do printf '{SEP}%s' \"$a\"; done; printf '{END}'; }}"
            ' >> "$STUB_LOG"\n'
            f"{body}\n"
        )
        target = self.bin / tool
        target.write_text(script)
        target.chmod(0o755)

    def absent(self, tool: str) -> None:
        """Take a real tool away (the server does not have it)."""
        (self.tools / tool).unlink(missing_ok=True)

    def run(
        self,
        name: str,
        *,
        timeout: float = 60,
        env: dict[str, str] | None = None,
        interpreter: str = BASH,
        **params: str,
    ) -> Result:
        """Run a library runbook with its parameters as environment variables, as the
        dispatcher passes them (`interpreter`: another bash binary, e.g. a renamed copy)."""
        book = library()[name]
        assert book.spec.shell == "bash", f"{name} is not a bash runbook"
        script = self.base / f"{name}.sh"
        script.write_text(book.spec.script)
        self.log.write_text("")
        environ = {
            "PATH": f"{self.bin}:{self.tools}",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C",
            "AW_TEST_ROOT": str(self.root),
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.state),
            **(env or {}),
            **params,
        }
        done = subprocess.run(
            [interpreter, str(script)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
            check=False,
        )
        calls = tuple(
            Call(parts[0], tuple(parts[1:]))
            for record in self.log.read_text().split(END)
            if record
            for parts in [record.split(SEP)]
        )
        LEDGER.runs[name] += 1
        LEDGER.stand_ins[name].update(c.tool for c in calls)
        return Result(done.returncode, done.stdout + done.stderr, calls)


def real(name: str, effect: str) -> None:
    """Record that a test checked `effect` of runbook `name` on real files or processes."""
    LEDGER.real[name].add(effect)


def shell_quote(text: str) -> str:
    """`text` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


PARAM_LINE = re.compile(r"^param ([A-Z][A-Z0-9_]*) '([^']*)'(?: '([^']*)')?$", re.M)
PS_PARAM_LINE = re.compile(r"Get-Param '([A-Z][A-Z0-9_]*)' '([^']*)'(?: '([^']*)')?\)?")


def declared_in_script(book: Runbook) -> dict[str, tuple[str, str | None]]:
    """The parameters a script checks at its top: name -> (pattern, default)."""
    line = PARAM_LINE if book.spec.shell == "bash" else PS_PARAM_LINE
    return {m[1]: (m[2], m[3]) for m in line.finditer(book.spec.script)}


def environment_without(*names: str) -> dict[str, str]:
    """This process's environment less some variables (for subprocesses)."""
    return {k: v for k, v in os.environ.items() if k not in names}


@dataclass(frozen=True)
class Unit:
    """A systemd unit as the systemctl stand-in plays it."""

    load: str = "loaded"
    state: str = "failed"
    after: tuple[str, ...] = ("active",)
    """What `is-active` answers after a restart or start, one call after the other."""
    pid: int = 100
    fails: bool = False
    """Whether restart, start and reload fail."""
    reload_restarts: bool = False
    """Whether a reload changes the main PID (it restarted instead)."""
    type: str = "simple"


SYSTEMCTL = r"""
unit=''
for a in "$@"; do case $a in *.service) unit=${a%.service} ;; esac; done
st=$STUB_STATE/unit-$unit
bump() { echo $(( $(cat "$st.pid") + 1 )) > "$st.pid"; }
case $1 in
  show)
    case $3 in
      LoadState) cat "$st.load" 2>/dev/null || echo not-found ;;
      MainPID) cat "$st.pid" 2>/dev/null || echo 0 ;;
      Type) cat "$st.type" 2>/dev/null || echo simple ;;
      *) echo no ;;
    esac ;;
  is-active)
    if [[ -s $st.queue ]] && (( $(wc -l < "$st.queue") > 1 )); then
      s=$(head -n 1 "$st.queue"); tail -n +2 "$st.queue" > "$st.q2"; mv "$st.q2" "$st.queue"
    elif [[ -s $st.queue ]]; then s=$(cat "$st.queue")
    else s=$(cat "$st.state" 2>/dev/null || echo inactive)
    fi
    [[ " $* " == *" --quiet "* ]] || echo "$s"
    [[ $s == active ]] ;;
  restart|start)
    [[ -e $st.fails ]] && { echo "Job for $unit.service failed." >&2; exit 1; }
    cp "$st.after" "$st.queue"; bump ;;
  reload)
    [[ -e $st.fails ]] && exit 1
    [[ -e $st.reload_restarts ]] && bump
    true ;;
  status) echo "x $unit.service - stand-in"; echo "   Active: $(cat "$st.state" 2>/dev/null)" ;;
esac
"""


def systemd(sb: Sandbox, **units: Unit) -> None:
    """A systemctl stand-in that knows `units` (by name, `-` written `_`)."""
    for key, unit in units.items():
        st = sb.state / f"unit-{key.replace('_', '-')}"
        Path(f"{st}.load").write_text(unit.load + "\n")
        Path(f"{st}.state").write_text(unit.state + "\n")
        Path(f"{st}.after").write_text("".join(f"{s}\n" for s in unit.after))
        Path(f"{st}.pid").write_text(f"{unit.pid}\n")
        Path(f"{st}.type").write_text(unit.type + "\n")
        for flag in ("fails", "reload_restarts"):
            if getattr(unit, flag):
                Path(f"{st}.{flag}").touch()
    sb.stub("systemctl", SYSTEMCTL)
