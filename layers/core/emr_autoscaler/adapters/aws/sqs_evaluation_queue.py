"""SqsEvaluationQueue: the EvaluationQueue port on an SQS FIFO queue, one message group per cluster.

SQS delivers the messages of one group in order and never hands out a group's next message while one is in flight
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html): with the cluster id
as the group, one cluster is never evaluated twice at once. A message whose deduplication id was sent in the last
5 minutes is accepted and dropped, so a tick or an event that arrives twice is evaluated once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from emr_autoscaler.scaling.triggers import EvaluationRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

SQS_BATCH_MAX = 10  # SendMessageBatch takes at most 10 entries


class EvaluationQueueError(RuntimeError):
    """EvaluationQueueError: SQS refused some evaluation requests (the message names the clusters)."""


class SqsEvaluationQueue:
    """SqsEvaluationQueue sends evaluation requests with SendMessageBatch, ten to a call."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, requests: Sequence[EvaluationRequest]) -> None:
        """Send enqueues every request; raises EvaluationQueueError naming the clusters SQS refused.

        The others were sent: a retry of the whole trigger re-sends them under the same deduplication ids, which
        SQS drops.
        """
        refused: list[str] = []
        for start in range(0, len(requests), SQS_BATCH_MAX):
            chunk = requests[start : start + SQS_BATCH_MAX]
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {
                        "Id": str(i),
                        "MessageBody": request.model_dump_json(),
                        "MessageGroupId": request.cluster_id,
                        "MessageDeduplicationId": request.deduplication_id,
                    }
                    for i, request in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                request = chunk[int(failure["Id"])]
                refused.append(f"{request.cluster_id} ({failure.get('Code', '?')})")
        if refused:
            raise EvaluationQueueError(f"SQS refused {len(refused)} evaluation request(s): {', '.join(refused)}")
        logger.debug("enqueued %d evaluation request(s)", len(requests))
