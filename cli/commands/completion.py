"""`completion bash|zsh|fish`: shell completion of commands, flags and resource names (names
come from `kubectl whisper __complete KIND`, as the caller may read them)."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from typing import Any

from whisperer.cli.flags import Subparsers, common, scope
from whisperer.cli.session import Session
from whisperer.operator.errors import WhispererError

# Which kind of name each command's positional argument is.
NAMES = {
    **dict.fromkeys(
        ("ack", "assign", "note", "wait-customer", "resume", "resolve", "reopen", "show"),
        "incidents",
    ),
    **dict.fromkeys(("approve", "reject", "logs"), "runbookexecutions"),
    "run": "runbooks",
    "silence": "silences",
    "company": "companies",
}


def _tree() -> dict[str, list[str]]:
    """Each command (and `group action`) with its flags."""
    from whisperer.cli.main import parser  # at call time: main imports this module

    found: dict[str, list[str]] = {}

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    if name.startswith("__"):
                        continue
                    path = f"{prefix} {name}".strip()
                    found[path] = sorted(
                        o for a in child._actions for o in a.option_strings if o.startswith("--")
                    )
                    walk(child, path)

    walk(parser(), "")
    return found


def bash() -> str:
    tree = _tree()
    top = " ".join(sorted(k for k in tree if " " not in k))
    cases = []
    for path, flags in sorted(tree.items()):
        key = path.replace(" ", "_")
        cases.append(f'    {key}) flags="{" ".join(flags)}" ;;')
    groups = " ".join(sorted({k.split()[0] for k in tree if " " in k}))
    actions = " ".join(sorted({k.split()[1] for k in tree if " " in k}))
    names = "\n".join(f"    {cmd}) kind={kind} ;;" for cmd, kind in sorted(NAMES.items()))
    return f"""# kubectl whisper completion (bash): source <(kubectl whisper completion bash)
_kubectl_whisper() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" cmd="" path="" kind="" flags="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in
      -*) ;;
      *)
        if [[ -z $cmd ]]; then
          cmd="${{COMP_WORDS[i]}}"; path="$cmd"
        elif [[ " {groups} " == *" $cmd "* && $path == "$cmd" ]]; then
          path="${{cmd}}_${{COMP_WORDS[i]}}"
        fi ;;
    esac
  done
  if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W "{top}" -- "$cur")); return; fi
  if [[ " {groups} " == *" $cmd "* && $path == "$cmd" ]]; then
    local actions="{actions}"
    COMPREPLY=($(compgen -W "$actions" -- "$cur")); return
  fi
  case "$path" in
{chr(10).join(cases)}
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  case "$cmd" in
{names}
  esac
  if [[ -n $kind ]]; then
    local found
    found="$(kubectl-whisper __complete "$kind" "${{COMP_WORDS[@]:1}}" 2>/dev/null)"
    COMPREPLY=($(compgen -W "$found" -- "$cur"))
  fi
}}
complete -F _kubectl_whisper kubectl-whisper kubectl_complete-whisper
"""


def zsh() -> str:
    return (
        "#compdef kubectl-whisper\n"
        "# kubectl whisper completion (zsh): source <(kubectl whisper completion zsh)\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash()
    )


def fish() -> str:
    tree = _tree()
    lines = ["# kubectl whisper completion (fish): kubectl whisper completion fish | source"]
    tops = sorted(k for k in tree if " " not in k)
    lines.append(
        "complete -c kubectl-whisper -f -n '__fish_use_subcommand' -a '" + " ".join(tops) + "'"
    )
    for path, flags in sorted(tree.items()):
        words = path.split()
        cond = " ".join(f"__fish_seen_subcommand_from {w};" for w in words).rstrip(";")
        if len(words) == 2:
            lines.append(
                f"complete -c kubectl-whisper -f -n '__fish_seen_subcommand_from {words[0]}' "
                f"-a '{words[1]}'"
            )
        for flag in flags:
            lines.append(f"complete -c kubectl-whisper -n '{cond}' -l {flag[2:]}")
    for cmd, kind in sorted(NAMES.items()):
        lines.append(
            f"complete -c kubectl-whisper -f -n '__fish_seen_subcommand_from {cmd}' "
            f"-a '(kubectl-whisper __complete {kind} (commandline -opc)[2..] 2>/dev/null)'"
        )
    return "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}


def run_completion(s: Session) -> int:
    print(SHELLS[s.args.shell](), end="")
    return 0


def run_names(s: Session) -> int:
    """Names for completion: quiet (nothing at all) when the caller may not list them."""
    kind = s.args.kind
    try:
        ns = None if kind == "companies" else s.namespace()
        items: list[Any] = s.kube.list(kind, ns)
    except WhispererError:
        return 0
    for item in items:
        print(item["metadata"]["name"])
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script: source <(kubectl whisper completion bash). "
        "kubectl's own completion calls kubectl_complete-whisper (a link to kubectl-whisper).",
    )
    p.add_argument("shell", choices=sorted(SHELLS))
    p.set_defaults(handler=run_completion)
    names = sub.add_parser("__complete", help=argparse.SUPPRESS)
    common(names)
    scope(names)
    names.add_argument("kind", choices=sorted(set(NAMES.values())))
    names.add_argument("words", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    names.set_defaults(handler=run_names)


def kubectl_complete(argv: list[str] | None = None) -> int:
    """`kubectl_complete-whisper ARGS... PARTIAL`: what kubectl's own completion (1.26+)
    asks a plugin for: candidates one a line, then cobra's directive (`:4`, no file names)."""
    words = list(sys.argv[1:] if argv is None else argv) or [""]
    *done, partial = words
    tree = _tree()
    positional = [w for w in done if not w.startswith("-")]
    path = (
        " ".join(positional[:2]) if " ".join(positional[:2]) in tree else " ".join(positional[:1])
    )
    if not positional:
        found = sorted(k for k in tree if " " not in k)
    elif partial.startswith("-"):
        found = tree.get(path, [])
    elif positional[0] in {k.split()[0] for k in tree if " " in k} and len(positional) == 1:
        found = sorted(k.split()[1] for k in tree if k.startswith(positional[0] + " "))
    elif positional[0] in NAMES:
        from whisperer.cli.main import main  # at call time: main imports this module

        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(["__complete", NAMES[positional[0]], *_scope_flags(done)])
        found = out.getvalue().split()
    else:
        found = []
    for candidate in found:
        if candidate.startswith(partial):
            print(candidate)
    print(":4")
    return 0


def _scope_flags(words: list[str]) -> list[str]:
    """-n/--namespace/--company/--context/--kubeconfig and their values, from the words."""
    keep = {"-n", "--namespace", "--company", "--context", "--kubeconfig"}
    flags: list[str] = []
    for i, word in enumerate(words):
        if word in keep and i + 1 < len(words):
            flags += [word, words[i + 1]]
        elif word.split("=", 1)[0] in keep:
            flags.append(word)
    return flags
