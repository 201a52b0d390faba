"""Renderers: user text is inert in every channel, limits hold, the log location survives truncation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emr_autoscaler.kernel.notices import NoticeKind, Severity
from emr_autoscaler.notifications.domain.notice import ClusterFacts, Notice, enrich, format_duration
from emr_autoscaler.notifications.domain.renderers import render_slack, render_sns, render_teams, render_webhook
from emr_autoscaler.notifications.domain.renderers.sns import sns_subject
from emr_autoscaler.notifications.domain.renderers.teams import MAX_BODY_BYTES
from emr_autoscaler.notifications.domain.renderers.webhook import sign_webhook, verify_webhook

EVIL = "<!channel> <https://evil|click> @here & <@U024BE7LH>"
LOG = "s3://acme-emr-logs/j-2AXXXXXXGAPLF/steps/s-1K4B2GJ7W9QXZ/stderr.gz"


def _notice(**update: object) -> Notice:
    base = Notice(
        kind=NoticeKind.STEP_FAILED,
        severity=Severity.WARNING,
        title="",
        event_id="3f6a9b2e",
        region="eu-west-1",
        occurred_at=datetime(2026, 3, 4, 3, 2, 41, tzinfo=UTC),
        cluster_id="j-2AXXXXXXGAPLF",
        cluster_name="etl-nightly",
        step_id="s-1K4B2GJ7W9QXZ",
        step_name=EVIL,
        state="FAILED",
        reason_code="java.lang.OutOfMemoryError",
        reason_message=f"Java heap space in {EVIL}",
        log_location=LOG,
    )
    # enrich() rebuilds the title from the (user-controlled) step name, as in production.
    return enrich(base.model_copy(update=update), ClusterFacts(), None)


def _slack_texts(payload: dict[str, object]) -> list[str]:
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                elif key != "url":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return texts


def test_slack_user_text_cannot_mention_or_link() -> None:
    # GIVEN a step whose name and failure message try to broadcast and to inject a link
    notice = _notice()

    # WHEN it is rendered for Slack
    payload = render_slack(notice)

    # THEN no text holds a raw '<', '>', an unescaped '&', a live @here or a linkable https://
    texts = _slack_texts(payload)
    assert texts
    for text in texts:
        assert "<" not in text
        assert ">" not in text
        assert "@here" not in text
        assert "https://evil" not in text
        assert "&" not in text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
    assert any(
        "&lt;!channel&gt; &lt;https\u200b://evil|click&gt; @\u200bhere &amp; &lt;@U024BE7LH&gt;" in t for t in texts
    )
    # The console button's URL is built by us, not user text: it stays a working link.
    assert payload["blocks"][-1]["elements"][0]["url"].startswith("https://console.aws.amazon.com/emr/home")  # type: ignore[index]


def test_slack_long_message_is_cut_and_log_location_kept() -> None:
    # GIVEN a failure message far longer than a Slack section allows
    notice = _notice(reason_message="x" * 10_000 + " & more")

    # WHEN it is rendered
    payload = render_slack(notice)

    # THEN every section text is at most 3000 characters, the cut is marked, and the logs block is whole
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "text" in b]  # type: ignore[union-attr]
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert sections[0]["text"]["text"].endswith("… (truncated)")
    assert any(s["text"]["text"] == f"*Logs*\n{LOG}" for s in sections)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150  # type: ignore[index]


def test_teams_user_text_cannot_format_or_link_and_fits_28kb() -> None:
    # GIVEN a step name with Markdown link syntax and a 100 KB failure message
    notice = _notice(step_name="[click](https://evil) **bold**", reason_message="y" * 100_000)

    # WHEN it is rendered for Teams
    payload = render_teams(notice)
    body = json.dumps(payload, ensure_ascii=False)

    # THEN the link and emphasis are escaped, the body fits Teams' limit, and the log location is kept
    assert "[click](https://evil)" not in body
    title = payload["attachments"][0]["content"]["body"][0]["text"]
    assert title.startswith("Step '\\[click\\](https\u200b://evil) \\*\\*bold\\*\\*' (s-1K4B2GJ7W9QXZ)")
    assert len(body.encode()) <= MAX_BODY_BYTES
    facts = payload["attachments"][0]["content"]["body"][-1]["facts"]
    assert {"title": "Logs", "value": LOG.replace("_", "\\_")} in facts
    assert payload["type"] == "message"
    assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"


def test_sns_subject_is_ascii_printable_one_line_at_most_100() -> None:
    # GIVEN a title with non-ASCII text, line breaks and 300 characters
    title = "Étape «nightly»\nfailed\r\t" + "z" * 300

    # WHEN it becomes an SNS subject
    subject = sns_subject(title)

    # THEN it is ASCII printable, one line, and at most 100 characters
    assert len(subject) <= 100
    assert all(0x20 <= ord(c) <= 0x7E for c in subject)
    assert subject.startswith("Etape nightly failed zzz")


def test_sns_body_fits_256kb_and_keeps_the_log_location() -> None:
    # GIVEN a 400 KB failure message
    notice = _notice(reason_message="é" * 200_000)

    # WHEN it is rendered for SNS
    message = render_sns(notice)

    # THEN the body is under SNS's limit, cut visibly, and still names the log file and console page
    assert len(message.message.encode()) <= 256 * 1024
    assert "… (truncated)" in message.message
    assert f"Logs: {LOG}" in message.message
    assert "Console: https://console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/j-2AXXXXXXGAPLF" in (
        message.message
    )


def test_webhook_signature_covers_timestamp_and_body() -> None:
    # GIVEN a rendered webhook body and its signature headers
    body = render_webhook(_notice())
    headers = sign_webhook(body, "s3cr3t", 1_772_593_361)

    # WHEN a receiver verifies it, and a tampered copy
    # THEN the original verifies; a changed body, timestamp, secret or a stale message does not
    assert headers["X-Emr-Autoscaler-Signature"].startswith("sha256=")
    assert verify_webhook(body, "s3cr3t", headers, now=1_772_593_400)
    assert not verify_webhook(body + b" ", "s3cr3t", headers, now=1_772_593_400)
    assert not verify_webhook(body, "other", headers, now=1_772_593_400)
    moved = {**headers, "X-Emr-Autoscaler-Timestamp": "1772593362"}
    assert not verify_webhook(body, "s3cr3t", moved, now=1_772_593_400)
    assert not verify_webhook(body, "s3cr3t", headers, now=1_772_593_361 + 3600)


def test_folded_count_is_shown_in_every_channel() -> None:
    # GIVEN a notice that folded 4 others in a 10-minute window
    notice = _notice(folded_count=4, folded_window_s=600)

    # WHEN it is rendered for each channel
    # THEN each says "and 4 more in 10 min"
    assert notice.folded_text == "and 4 more in 10 min"
    assert "and 4 more in 10 min" in json.dumps(render_slack(notice))
    assert "and 4 more in 10 min" in json.dumps(render_teams(notice))
    assert json.loads(render_webhook(notice))["folded"] == {"count": 4, "window_s": 600, "text": "and 4 more in 10 min"}
    assert "(and 4 more in 10 min)" in render_sns(notice).message


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (600, "10 min"), (7200, "2 h"), (86400, "1 d"), (90, "90 s")]
)
def test_format_duration(seconds: int, text: str) -> None:
    # GIVEN a window in seconds / WHEN formatted / THEN it is the shortest exact unit
    assert format_duration(seconds) == text


def test_dedup_reason_is_bounded_and_key_safe() -> None:
    # GIVEN step notices with a hostile step name, and the same name on another step id
    first = _notice()
    again = _notice(step_id="s-OTHERSTEP")

    # WHEN their dedup reasons are computed
    # THEN they are the same (same step name), short, and made of key-safe characters only
    assert first.dedup_reason == again.dedup_reason
    assert first.dedup_reason.startswith("h:")
    assert len(first.dedup_reason) <= 40
