"""Slack incoming webhook message (Block Kit). Pure.

Slack parses `<...>` as links and mentions (`<!channel>`, `<@U123>`, `<https://x|text>`) and `&` as the start of
an entity: all user-controlled text is escaped (`&amp;`, `&lt;`, `&gt;`, Slack's own rule), `@here`,
`@channel` and `@everyone` get a zero-width space after the `@`, and `http(s)://` in user text is broken the same
way so Slack does not turn it into a link. Limits: header 150, section text 3000, field 2000 characters, 10 fields.
"""

from __future__ import annotations

import re
from typing import Any

from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers.common import SEVERITY_LABEL, context_line, facts, fit

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
_ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_SCHEME = re.compile(r"\b(https?)://", re.IGNORECASE)
_ICON = {Severity.INFO: ":large_blue_circle:", Severity.WARNING: ":warning:", Severity.CRITICAL: ":red_circle:"}


def escape_slack(text: str) -> str:
    """Escape_slack makes user text inert in Slack mrkdwn: no link, no mention, no broadcast."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BROADCAST.sub(lambda m: f"@{_ZWSP}{m.group(1)}", text)
    return _SCHEME.sub(lambda m: f"{m.group(1)}{_ZWSP}://", text)


def _escape_path(text: str) -> str:
    # Log locations are shown as they are (s3:// paths people copy), only made unable to inject markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(notice: Notice) -> dict[str, Any]:
    """Render_slack returns the JSON body of a Slack incoming-webhook message for `notice`."""
    title = fit(notice.title, HEADER_LIMIT - 4, escape_slack)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{_ICON[notice.severity]} *{fit(context_line(notice), SECTION_LIMIT - 40, escape_slack)}*",
                }
            ],
        },
    ]
    if notice.reason_message:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": fit(notice.reason_message, SECTION_LIMIT, escape_slack)},
            }
        )
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{fit(value, FIELD_LIMIT - len(label) - 3, escape_slack)}"}
        for label, value in facts(notice)[:10]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if notice.log_location:
        log = fit(notice.log_location, SECTION_LIMIT - 10, _escape_path)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Logs*\n{log}"}})
    if notice.console_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in the EMR console"},
                        "url": notice.console_url,
                    }
                ],
            }
        )
    fallback = f"[{SEVERITY_LABEL[notice.severity]}] {notice.title}"
    return {
        "text": fit(fallback, SECTION_LIMIT, escape_slack),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
