"""SNS message for email and SMS subscribers: a subject within SNS limits and a plain text body. Pure.

SNS subjects must be ASCII printable, start with a letter, number or punctuation, contain no line breaks and
be at most 100 characters; messages at most 256 KB. The subject is transliterated and cut; the body cuts the
failure message so the rest (log location, console link) always fits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers.common import SEVERITY_LABEL, plain_text

SUBJECT_LIMIT = 100
MAX_MESSAGE_BYTES = 256 * 1024 - 2048  # SNS counts the whole request; leave room for subject and attributes.
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")
_IDS = re.compile(r" \((?:j|s)-[A-Z0-9]+\)")


@dataclass(frozen=True)
class SnsMessage:
    """SnsMessage is one SNS Publish: `subject` (≤ 100 ASCII printable characters) and `message` (plain text)."""

    subject: str
    message: str


def sns_subject(text: str) -> str:
    """Sns_subject makes any text a valid SNS subject: ASCII printable, one line, at most 100 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    one_line = " ".join(_NOT_PRINTABLE.sub(" ", ascii_text).split())
    if len(one_line) > SUBJECT_LIMIT:
        one_line = one_line[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return one_line or "EMR Autoscaler notice"


def render_sns(notice: Notice) -> SnsMessage:
    """Render_sns returns the subject and plain text body for `notice` (body at most MAX_MESSAGE_BYTES)."""
    subject = f"[{SEVERITY_LABEL[notice.severity]}] {notice.title}"
    if len(subject) > SUBJECT_LIMIT:
        # Names say more than ids in an inbox or on a phone; the body keeps the ids.
        subject = _IDS.sub("", subject)
    subject = sns_subject(subject)
    limit = 200_000
    message = plain_text(notice, message_limit=limit)
    while len(message.encode()) > MAX_MESSAGE_BYTES and limit > 0:
        limit = max(0, limit - (len(message.encode()) - MAX_MESSAGE_BYTES) - 64)
        message = plain_text(notice, message_limit=limit)
    return SnsMessage(subject=subject, message=message)
