"""SqsRetryQueue: the RetryQueue port on a standard SQS queue with per-message DelaySeconds (≤ 900 s).

The function consumes the same queue (SQS event source), so a restart runs when its backoff has passed, and a new
look at a failed step's evidence when the wait for its logs has.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from emr_autoscaler.kernel.config.steps import SQS_MAX_DELAY_S
from emr_autoscaler.steps.domain.models import EvidenceRecheck, ScheduledRetry

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
        retry = scheduled.retry
        self._send(scheduled.model_dump_json(), retry.delay_s, retry.cluster_id, retry.original_step_id, "restart")

    def schedule_recheck(self, recheck: EvidenceRecheck) -> None:
        """Schedule_recheck sends the new look with DelaySeconds = the wait for the logs (clamped to 0..900)."""
        wait = recheck.recheck
        self._send(recheck.model_dump_json(), wait.delay_s, wait.cluster_id, wait.step_id, "recheck")

    def _send(self, body: str, delay_s: int, cluster_id: str, step_id: str, kind: str) -> None:
        delay_s = max(0, min(SQS_MAX_DELAY_S, delay_s))
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            DelaySeconds=delay_s,
            MessageAttributes={
                "cluster_id": {"DataType": "String", "StringValue": cluster_id},
                "original_step_id": {"DataType": "String", "StringValue": step_id},
                "kind": {"DataType": "String", "StringValue": kind},
            },
        )
        logger.debug(f"{kind} queued", extra={"cluster_id": cluster_id, "delay_s": delay_s})
