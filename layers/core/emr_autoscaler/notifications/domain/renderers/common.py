"""What every channel shows of a notice, in one order, and the text helpers the renderers share."""

from __future__ import annotations

from collections.abc import Callable

from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.notifications.domain.notice import Notice

ELLIPSIS = "… (truncated)"
SEVERITY_LABEL = {Severity.INFO: "INFO", Severity.WARNING: "WARNING", Severity.CRITICAL: "CRITICAL"}


def truncate(text: str, limit: int) -> str:
    """Truncate cuts `text` to at most `limit` characters, ending with a visible truncation mark."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """Fit escapes `text` and truncates it so the escaped form has at most `limit` characters.

    The cut happens before escaping, so no escape sequence (`&amp;`) is ever split.
    """
    keep = limit
    while keep > 0:
        escaped = escape(truncate(text, keep))
        if len(escaped) <= limit:
            return escaped
        keep -= max(1, len(escaped) - limit)
    return ""


def when(notice: Notice) -> str:
    """When renders the notice's time in UTC to the second (`2026-11-26 08:07:42 UTC`)."""
    return notice.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def context_line(notice: Notice) -> str:
    """Context_line is the severity, the folded count, region and time on one line."""
    parts = [SEVERITY_LABEL[notice.severity]]
    if notice.folded_text:
        parts.append(notice.folded_text)
    parts.extend([notice.region, when(notice)])
    return " · ".join(parts)


def facts(notice: Notice) -> list[tuple[str, str]]:
    """Facts are the labelled values every channel shows, in order; absent values are left out.

    The log location and console link are not here: each renderer places them where truncation cannot reach.
    """
    rows: list[tuple[str, str]] = []
    if notice.cluster_id:
        cluster = notice.cluster_label + (f", profile {notice.profile}" if notice.profile else "")
        rows.append(("Cluster", cluster))
    if notice.step_id or notice.step_name:
        label = f"{notice.step_name} ({notice.step_id})" if notice.step_name and notice.step_id else None
        rows.append(("Step", label or notice.step_name or notice.step_id or ""))
    if notice.state:
        rows.append(("State", notice.state))
    if notice.reason_code:
        rows.append(("Reason", notice.reason_code))
    if notice.action:
        rows.append(("Action", notice.action))
    return rows


def plain_text(notice: Notice, message_limit: int = 4000) -> str:
    """Plain_text is the notice as plain text lines (SNS email/SMS, dead letters); the message is cut first."""
    lines = [f"[{SEVERITY_LABEL[notice.severity]}] {notice.title}"]
    if notice.folded_text:
        lines.append(f"({notice.folded_text})")
    lines.append("")
    if notice.reason_message:
        lines.append(f"What happened: {truncate(notice.reason_message, message_limit)}")
    lines.extend(f"{label}: {value}" for label, value in facts(notice))
    if notice.log_location:
        lines.append(f"Logs: {notice.log_location}")
    if notice.console_url:
        lines.append(f"Console: {notice.console_url}")
    lines.append(f"When: {when(notice)} ({notice.region}), event {notice.event_id}")
    return "\n".join(lines) + "\n"
