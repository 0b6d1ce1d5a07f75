"""Every kind of message renders for a realistic incident: the HTML parses, the text part
says the same facts, autoescape holds, chat and webhook bodies carry the same facts, and an
MSP's override folder wins file by file without ever breaking a message."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.notifications import OPENED, company, incident, run, runbook, samples, technicians

from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.notifications import payloads
from whisperer.operator.services.notifications.messages import (
    Assigned,
    Escalation,
    Message,
    Resolved,
    RunOutcome,
    resolution,
)
from whisperer.operator.services.notifications.render import BUILTIN, Renderer, template_names
from whisperer.operator.services.notifications.views import RecipientView, incident_view, run_view

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
EVIL = 'Disk <script>alert("x")</script> & "quotes" on pm-db01'


class Strict(HTMLParser):
    """Parses a whole document: every tag closed in order, the visible text collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Strict:
    parser = Strict()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


def flat(text: str) -> str:
    return " ".join(text.split())


MESSAGES = samples()


def test_every_kind_has_a_sample_and_its_templates() -> None:
    assert {m.message_kind for m in MESSAGES} == set(MessageKind)
    for kind in MessageKind:
        for name in template_names(kind):
            assert (BUILTIN / name).is_file(), name


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: str(m.message_kind))
def test_html_parses_and_the_text_part_says_the_same(message: Message) -> None:
    out = Renderer().render(message)
    doc = parse(out.html)
    assert doc.doctype.lower() == "doctype html"
    assert doc.tags[:2] == ["html", "head"]
    html_text, text = flat(" ".join(doc.text)), flat(out.text)
    i = message.incident
    for fact in [i.title, i.name, i.severity, i.company_name, *[a.name for a in i.assets]]:
        assert fact in html_text and fact in text, fact
    for label, value in message.facts():
        assert flat(value) in html_text and flat(value) in text, (label, value)
        assert label in html_text and label in text, label
    assert "\n" not in out.subject
    if message.message_kind != MessageKind.APPROVAL_REQUIRED:  # that one names the run
        assert i.title in out.subject
    assert len(out.sms) <= 320 and out.sms.startswith(out.subject[:100])


def test_the_assignment_carries_analysis_runbooks_and_the_deadline() -> None:
    message = next(m for m in MESSAGES if isinstance(m, Assigned))
    out = Renderer().render(message)
    html_text, text = flat(" ".join(parse(out.html).text)), flat(out.text)
    i = message.incident
    assert i.analysis is not None
    wanted = [
        i.analysis.summary,
        "Confidence: 86%",
        i.cause,
        message.runbooks[0].title,
        message.runbooks[0].command,
        "kubectl whisper run free-disk-space --incident inc-20261127-0007 -n company-acme-dental",
        i.ack_command,
        message.when(i.response_due_at),
        "Fri 27 Nov 2026 09:32 EST",  # the deadline in Sam's own time zone
    ]
    for fact in wanted:
        assert fact in html_text and fact in text, fact


def test_an_escalation_shows_the_chain() -> None:
    message = next(m for m in MESSAGES if isinstance(m, Escalation))
    out = Renderer().render(message)
    html_text, text = flat(" ".join(parse(out.html).text)), flat(out.text)
    for fact in [
        "duty-lead@northwind-msp.example",
        "service-manager@northwind-msp.example",
        "level 2 of the escalation chain",
        "1 h 4 min",
    ]:
        assert fact in html_text and fact in text, fact
    assert out.subject.startswith("[Escalation 2/2]")


def test_a_failed_run_shows_the_output_escaped() -> None:
    message = next(m for m in MESSAGES if isinstance(m, RunOutcome) and m.outcome == "failed")
    out = Renderer().render(message)
    assert "&lt;denied&gt;" in out.html and "<denied>" not in out.html
    assert "<denied>" in out.text and "exit code 2" in out.text


def test_the_resolution_notice_tells_the_company_without_internal_commands() -> None:
    message = next(m for m in MESSAGES if isinstance(m, Resolved))
    out = Renderer().render(message)
    html_text, text = flat(" ".join(parse(out.html).text)), flat(out.text)
    for fact in [
        "Dear Priya Raman",
        message.summary,
        "2 h 15 min",
        "within your SLA",
        "Fri 27 Nov 2026 11:17 EST",  # in the company's own time zone
    ]:
        assert fact in html_text and fact in text, fact
    assert "kubectl" not in out.text and "kubectl" not in out.html and "kubectl" not in out.sms


@pytest.mark.parametrize("message", samples(EVIL), ids=lambda m: str(m.message_kind))
def test_autoescape_holds(message: Message) -> None:
    out = Renderer().render(message)
    doc = parse(out.html)
    assert "script" not in doc.tags
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert EVIL in flat(" ".join(doc.text))  # the reader still sees the title as written
    assert EVIL in out.text  # plain text is not HTML: nothing to escape
    # Slack's mrkdwn must be escaped (plain_text blocks are shown as written).
    slack = payloads.slack(message, out)
    mrkdwn = [slack["text"]] + [
        item["text"]
        for block in slack["blocks"]
        for item in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if item and item["type"] == "mrkdwn"
    ]
    assert not any("<script>" in text for text in mrkdwn)
    escaped = out.subject.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert slack["text"] == escaped


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: str(m.message_kind))
def test_chat_and_webhook_bodies_carry_the_same_facts(message: Message) -> None:
    out = Renderer().render(message)
    facts = message.facts()
    slack = payloads.slack(message, out)
    fields = slack["blocks"][2]["fields"]
    assert [f["text"].split("\n", 1)[1] for f in fields] == [v for _, v in facts][:10]
    card = payloads.teams(message, out)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    factset = next(b for b in card["content"]["body"] if b["type"] == "FactSet")
    assert [(f["title"], f["value"]) for f in factset["facts"]] == facts
    legacy = payloads.teams(message, out, card="message")
    assert legacy["@type"] == "MessageCard" and legacy["summary"] == out.subject
    assert [(f["name"], f["value"]) for f in legacy["sections"][0]["facts"]] == facts
    event = json.loads(json.dumps(payloads.event(message, out, at=message.incident.opened_at)))  # type: ignore[arg-type]
    assert event["type"] == message.event_type and "." in event["type"]
    assert event["data"]["incident"]["name"] == message.incident.name
    assert event["data"]["kind"] == str(message.message_kind)
    assert [(f["label"], f["value"]) for f in event["data"]["facts"]] == facts


def test_an_override_folder_wins_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "assigned.subject.txt").write_text("Yours: {{ i.name }} for {{ m.recipient.name }}")
    message = next(m for m in MESSAGES if isinstance(m, Assigned))
    renderer = Renderer(tmp_path)
    assert renderer.check() == []
    out = renderer.render(message)
    assert out.subject == "Yours: inc-20261127-0007 for Sam Taylor"
    assert out.text == Renderer().render(message).text  # the parts not overridden are ours
    assert out.problem == ""


def test_a_broken_override_falls_back_to_the_built_in_template(tmp_path: Path) -> None:
    (tmp_path / "assigned.txt").write_text("{{ i.no_such_field }}")
    (tmp_path / "resolved.html").write_text("{% if %}")
    renderer = Renderer(tmp_path)
    problems = renderer.check()
    assert len(problems) == 1 and problems[0].startswith("resolved.html:")
    message = next(m for m in MESSAGES if isinstance(m, Assigned))
    out = renderer.render(message)
    assert out.text == Renderer().render(message).text
    assert "template override for assigned failed" in out.problem
    assert "no_such_field" in out.problem


def test_a_missing_override_folder_is_reported(tmp_path: Path) -> None:
    assert Renderer(tmp_path / "nope").check() == [
        f"{tmp_path / 'nope'} is not a folder: the built-in templates are used"
    ]


def test_a_resolution_says_how_it_ended() -> None:

    view = incident_view(incident(), company(), technicians())
    reader = RecipientView("Priya Raman", "contact", "America/New_York")
    late = OPENED + timedelta(hours=5)
    by_hand = resolution(view, reader, resolved_at=late, by="Sam Taylor", code="fixed", summary="s")
    assert (by_hand.how, by_hand.time_to_resolve, by_hand.sla_met) == (
        "technician",
        timedelta(hours=5),
        False,
    )
    healed = resolution(
        view,
        reader,
        resolved_at=OPENED + timedelta(minutes=20),
        healed_by=run_view(run("Succeeded"), runbook("free-disk-space")),
    )
    assert (healed.how, healed.by, healed.sla_met) == (
        "automation",
        "run free-disk-space-7f3a",
        True,
    )
    text = Renderer().render(healed).text
    assert "Fixed automatically by run free-disk-space-7f3a: the runbook Free disk space" in flat(
        text
    )
    alone = resolution(view, reader, resolved_at=OPENED + timedelta(hours=1))
    assert alone.how == "auto-resolve"
    assert "Every alert cleared by itself and stayed clear." in Renderer().render(alone).text
