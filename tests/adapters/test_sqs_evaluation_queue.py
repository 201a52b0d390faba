"""SqsEvaluationQueue under moto: FIFO groups per cluster, deduplication, and refused entries named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emr_autoscaler.adapters.aws.sqs_evaluation_queue import EvaluationQueueError, SqsEvaluationQueue
from emr_autoscaler.scaling.triggers import TICK_CAUSE, evaluation_request, parse_evaluation_request

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
IDS = [f"j-CLUSTER{n:05d}" for n in range(23)]


@pytest.fixture
def sqs() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.Session(region_name="eu-west-1").client("sqs")
        url = client.create_queue(QueueName="evaluations.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        yield client, url


def _receive_all(client: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while messages := client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages"):
        found.extend(messages)
        for message in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_every_request_is_sent_in_its_clusters_group(sqs: tuple[Any, str]) -> None:
    # GIVEN 23 requests of one tick (three SendMessageBatch calls)
    client, url = sqs
    requests = [evaluation_request(c, TICK_CAUSE, "tick-1", NOW) for c in IDS]
    # WHEN they are sent
    SqsEvaluationQueue(client, url).send(requests)
    # THEN each arrives once, in the group named by its cluster, with its deduplication id, and parses back
    messages = _receive_all(client, url)
    assert sorted(m["Attributes"]["MessageGroupId"] for m in messages) == IDS
    assert {m["Attributes"]["MessageDeduplicationId"] for m in messages} == {r.deduplication_id for r in requests}
    assert sorted(parse_evaluation_request(m["Body"]).cluster_id for m in messages) == IDS


def test_a_repeated_tick_is_dropped_by_its_deduplication_ids(sqs: tuple[Any, str]) -> None:
    # GIVEN a tick's requests already queued
    client, url = sqs
    queue = SqsEvaluationQueue(client, url)
    queue.send([evaluation_request(c, TICK_CAUSE, "tick-1", NOW) for c in IDS[:3]])
    # WHEN the same tick is retried (another event id, the same minute)
    queue.send([evaluation_request(c, TICK_CAUSE, "tick-1-retry", NOW) for c in IDS[:3]])
    # THEN each cluster is queued once
    assert sorted(m["Attributes"]["MessageGroupId"] for m in _receive_all(client, url)) == IDS[:3]


def test_refused_entries_raise_naming_their_clusters(sqs: tuple[Any, str]) -> None:
    # GIVEN SQS refusing one entry of a batch
    client, url = sqs
    original = client.send_message_batch

    def refuse_second(**kwargs: Any) -> dict[str, Any]:
        response = dict(original(**kwargs))
        response["Failed"] = [{"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"}]
        return response

    client.send_message_batch = refuse_second
    # WHEN a tick is sent
    # THEN the error names the refused cluster and the code, so the trigger is retried and the DLQ names it
    with pytest.raises(EvaluationQueueError, match=rf"refused 1 evaluation request\(s\): {IDS[1]} \(InternalError\)"):
        SqsEvaluationQueue(client, url).send([evaluation_request(c, TICK_CAUSE, "t", NOW) for c in IDS[:3]])
