"""Chat and webhook bodies, derived from the same message context (and rendered subject) as
the email: a Slack Block Kit message, a Teams Adaptive Card or MessageCard, and the generic
webhook's JSON event in the shape the Standard Webhooks specification recommends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whisperer.operator.services.notifications.messages import Message
from whisperer.operator.services.notifications.render import Rendered

COLORS = {
    "critical": "#B42318",
    "high": "#C4320A",
    "medium": "#B54708",
    "low": "#175CD3",
    "info": "#475467",
}
ADAPTIVE_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn escapes only these three."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(message: Message) -> str:
    i = message.incident
    return i.cause or (i.analysis.summary if i.analysis else "") or i.title


def slack(message: Message, rendered: Rendered) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` for notifications, blocks for the room."""
    facts = message.facts()[:10]  # Slack's limit of fields per section
    return {
        "text": _slack_escape(rendered.subject),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": rendered.subject[:150], "emoji": False},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _slack_escape(_summary(message))[:3000]},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"[:2000]}
                    for k, v in facts
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"`{_slack_escape(message.incident.show_command)}`",
                    }
                ],
            },
        ],
    }


def teams(message: Message, rendered: Rendered, *, card: str = "adaptive") -> dict[str, Any]:
    """A Teams incoming-webhook body: an Adaptive Card in a message (Workflows webhooks), or a
    legacy MessageCard (Office 365 connectors)."""
    facts = message.facts()
    if card == "message":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": rendered.subject,
            "themeColor": COLORS.get(message.incident.severity, "#475467").lstrip("#"),
            "title": rendered.subject,
            "sections": [
                {
                    "text": _summary(message),
                    "facts": [{"name": k, "value": v} for k, v in facts],
                },
                {"text": f"`{message.incident.show_command}`"},
            ],
        }
    attention = message.incident.severity in ("critical", "high")
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD,
                "contentUrl": None,
                "content": {
                    "$schema": ADAPTIVE_SCHEMA,
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": rendered.subject,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                            "color": "Attention" if attention else "Default",
                        },
                        {"type": "TextBlock", "text": _summary(message), "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [{"title": k, "value": v} for k, v in facts],
                        },
                        {
                            "type": "TextBlock",
                            "text": message.incident.show_command,
                            "fontType": "Monospace",
                            "wrap": True,
                            "isSubtle": True,
                        },
                    ],
                },
            }
        ],
    }


def event(message: Message, rendered: Rendered, *, at: datetime) -> dict[str, Any]:
    """The generic webhook's body: `type`, `timestamp`, and `data` with every field of the
    message (the incident, the kind's own fields) plus its subject and facts."""
    data = message.data()
    data["subject"] = rendered.subject
    data["facts"] = [{"label": k, "value": v} for k, v in message.facts()]
    return {
        "type": message.event_type,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
