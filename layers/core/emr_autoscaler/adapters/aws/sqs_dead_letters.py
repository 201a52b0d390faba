"""SqsDeadLetters: notices a channel could not take go to the notification dead-letter queue, naming the channel.

The message is JSON: `channel`, `channel_type`, `reason` (safe: no URL, no secret), the notice itself, and its
plain text rendering, so an operator can read it, or replay it, from the queue.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers import plain_text
from emr_autoscaler.notifications.domain.renderers.common import truncate

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)
_MESSAGE_LIMIT = 16_000  # SQS takes 256 KB; the notice's failure message is the only unbounded text.


def dead_letter_body(channel: str, channel_type: str, notice: Notice, reason: str) -> str:
    """Dead_letter_body is the JSON text of one dead letter."""
    if notice.reason_message:
        notice = notice.model_copy(update={"reason_message": truncate(notice.reason_message, _MESSAGE_LIMIT)})
    return json.dumps(
        {
            "channel": channel,
            "channel_type": channel_type,
            "reason": reason,
            "notice": notice.model_dump(mode="json"),
            "text": plain_text(notice),
        },
        ensure_ascii=False,
    )


class SqsDeadLetters:
    """SqsDeadLetters sends undeliverable notices to one SQS queue (raises when SQS refuses: never lost silently)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, channel: str, channel_type: str, notice: Notice, reason: str) -> None:
        """Send enqueues one dead letter with `channel` as a message attribute."""
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=dead_letter_body(channel, channel_type, notice, reason),
            MessageAttributes={
                "channel": {"DataType": "String", "StringValue": channel},
                "kind": {"DataType": "String", "StringValue": notice.kind.value},
            },
        )


class LoggingDeadLetters:
    """LoggingDeadLetters logs dead letters at error level (deployments without a queue, the local demo)."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, str]] = []

    def send(self, channel: str, channel_type: str, notice: Notice, reason: str) -> None:
        """Send logs the undeliverable notice and keeps it in memory."""
        self.letters.append((channel, reason))
        logger.error("notice %s could not be delivered to %s: %s", notice.event_id, channel, reason)
