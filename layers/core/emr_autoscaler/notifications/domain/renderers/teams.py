"""Microsoft Teams webhook message: an Adaptive Card in the `message` + `attachments` envelope. Pure.

Teams workflows ("When a Teams webhook request is received") and the older connectors both accept this envelope.
Adaptive Card TextBlocks render a Markdown subset: user text gets its Markdown characters backslash-escaped and
`http(s)://` broken with a zero-width space, so a step name cannot render as a link or formatting. The whole
body is kept under Teams' ~28 KB limit by cutting the failure message first; the log location stays.
"""

from __future__ import annotations

import json
import re
from typing import Any

from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers.common import context_line, facts, fit

MAX_BODY_BYTES = 27_000  # Teams refuses payloads above about 28 KB; leave room for the envelope's overhead.
_MARKDOWN = re.compile(r"([\\`*_~\[\]])")
_SCHEME = re.compile(r"\b(https?)://", re.IGNORECASE)
_COLOR = {Severity.INFO: "Accent", Severity.WARNING: "Warning", Severity.CRITICAL: "Attention"}


def escape_teams(text: str) -> str:
    """Escape_teams makes user text inert in an Adaptive Card TextBlock or Fact: no link, no formatting."""
    return _SCHEME.sub(lambda m: f"{m.group(1)}\u200b://", _MARKDOWN.sub(r"\\\1", text))


def _card(notice: Notice, message_limit: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": fit(notice.title, 400, escape_teams),
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOR[notice.severity],
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": escape_teams(context_line(notice)),
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
    ]
    if notice.reason_message and message_limit > 0:
        body.append(
            {"type": "TextBlock", "text": fit(notice.reason_message, message_limit, escape_teams), "wrap": True}
        )
    rows = [{"title": label, "value": fit(value, 1000, escape_teams)} for label, value in facts(notice)]
    if notice.log_location:
        rows.append({"title": "Logs", "value": fit(notice.log_location, 2000, escape_teams)})
    if rows:
        body.append({"type": "FactSet", "facts": rows})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if notice.console_url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open in the EMR console", "url": notice.console_url}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }


def _size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode())


def render_teams(notice: Notice) -> dict[str, Any]:
    """Render_teams returns the JSON body of a Teams webhook message for `notice` (at most MAX_BODY_BYTES)."""
    limit = 8000
    payload = _card(notice, limit)
    # Cut only the failure message, the one unbounded text; everything else is capped per field above.
    while _size(payload) > MAX_BODY_BYTES and limit > 0:
        limit = max(0, limit - max(200, (_size(payload) - MAX_BODY_BYTES)))
        payload = _card(notice, limit)
    return payload
