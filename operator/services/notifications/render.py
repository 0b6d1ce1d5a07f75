"""Messages from Jinja2 templates: a subject, a plain-text part and an autoescaped HTML part
per kind, kept in the repo (`templates/`) and overridable file by file from the MSP's own
folder (WHISPERER_NOTIFY_TEMPLATES_DIR). A broken override never stops a message: it is
reported, and the built-in template renders instead."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
)
from jinja2.sandbox import SandboxedEnvironment

from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.notifications.formatting import span
from whisperer.operator.services.notifications.messages import Message

log = logging.getLogger(__name__)

BUILTIN = Path(__file__).with_name("templates")
PARTS = ("subject.txt", "txt", "html")
MAX_SUBJECT = 200
MAX_SMS = 320  # two SMS segments
_BLANK_RUNS = re.compile(r"\n[ \t]*(\n[ \t]*)+\n")


@dataclass(frozen=True)
class Rendered:
    """A message ready to send, in each form a channel may want."""

    subject: str
    text: str
    html: str
    sms: str
    problem: str = ""  # why an override was not used, when it was not


def _environment(loader: BaseLoader, *, html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=loader,
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["span"] = span
    return env


class Renderer:
    """Renders a message context with the MSP's templates where it has them, ours otherwise."""

    def __init__(self, overrides: Path | None = None) -> None:
        self._overrides = overrides
        builtin = FileSystemLoader(str(BUILTIN))
        self._builtin = {html: _environment(builtin, html=html) for html in (False, True)}
        if overrides is not None:
            loader = ChoiceLoader([FileSystemLoader(str(overrides)), builtin])
            self._chosen = {html: _environment(loader, html=html) for html in (False, True)}
        else:
            self._chosen = self._builtin

    def check(self) -> list[str]:
        """Problems with the override folder's templates (syntax), for the startup log."""
        if self._overrides is None:
            return []
        if not self._overrides.is_dir():
            return [f"{self._overrides} is not a folder: the built-in templates are used"]
        problems = []
        for path in sorted(self._overrides.iterdir()):
            if path.suffix not in (".txt", ".html"):
                continue
            try:
                self._chosen[path.suffix == ".html"].get_template(path.name)
            except TemplateError as exc:
                problems.append(f"{path.name}: {exc}")
        return problems

    def render(self, message: Message) -> Rendered:
        """Subject, text, HTML and SMS text of one message."""
        try:
            return self._render(message, self._chosen)
        except TemplateError as exc:
            if self._chosen is self._builtin:
                raise
            problem = f"template override for {message.message_kind} failed: {exc}"
            log.warning("%s; using the built-in template", problem)
            rendered = self._render(message, self._builtin)
            return Rendered(rendered.subject, rendered.text, rendered.html, rendered.sms, problem)

    def _render(self, message: Message, envs: dict[bool, SandboxedEnvironment]) -> Rendered:
        kind = str(message.message_kind)
        context = {"m": message, "i": message.incident, "kind": kind}
        subject = envs[False].get_template(f"{kind}.subject.txt").render(context)
        subject = " ".join(subject.split())[:MAX_SUBJECT]
        text = envs[False].get_template(f"{kind}.txt").render(context)
        text = _BLANK_RUNS.sub("\n\n", text).strip() + "\n"
        html = envs[True].get_template(f"{kind}.html").render(context)
        sms = f"{subject} {message.sms_hint}".strip()[:MAX_SMS]
        return Rendered(subject, text, html, sms)


def template_names(kind: MessageKind) -> list[str]:
    """The files that make one kind of message (what an MSP may override)."""
    return [f"{kind}.{part}" for part in PARTS]
