"""SqsRetryQueue: the RetryQueue port on a standard SQS queue with per-message DelaySeconds (≤ 900 s).

The function consumes the same queue (SQS event source), so a restart runs when its backoff has passed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from emr_autoscaler.kernel.config.steps import SQS_MAX_DELAY_S
from emr_autoscaler.steps.domain.models import ScheduledRetry

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)


class SqsRetryQueue:
    """SqsRetryQueue sends one message per scheduled restart, delayed by its backoff."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def schedule(self, scheduled: ScheduledRetry) -> None:
        """Schedule sends the restart with DelaySeconds = its backoff (clamped to SQS's 0..900)."""
        delay_s = max(0, min(SQS_MAX_DELAY_S, scheduled.retry.delay_s))
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=scheduled.model_dump_json(),
            DelaySeconds=delay_s,
            MessageAttributes={
                "cluster_id": {"DataType": "String", "StringValue": scheduled.retry.cluster_id},
                "original_step_id": {"DataType": "String", "StringValue": scheduled.retry.original_step_id},
            },
        )
        logger.debug("restart queued", extra={"cluster_id": scheduled.retry.cluster_id, "delay_s": delay_s})
