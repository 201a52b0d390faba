"""Fan-out tests: triggers enqueue one request per cluster; a batch of the queue is evaluated with FIFO partial
failures (fakes of every port, Powertools' real batch processor, no I/O)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from emr_autoscaler.kernel.models import InstanceGroupCapacity, RegisteredCluster
from emr_autoscaler.scaling.service import Scaler, handle_trigger
from emr_autoscaler.scaling.triggers import (
    TICK_CAUSE,
    ClusterTrigger,
    EvaluationBatch,
    EvaluationRequest,
    MalformedEvaluationError,
    ScheduledTick,
    evaluation_request,
    parse_evaluation_request,
    parse_scaler_trigger,
)
from tests.fakes import FakeEmr
from tests.unit.domain_builders import CLUSTER_ID, NOW, snapshot
from tests.unit.test_service import make_scaler

SECOND_ID = "j-SECOND000000"
THIRD_ID = "j-THIRD0000000"


@dataclass
class RecordingQueue:
    """RecordingQueue keeps what was sent, dropping a deduplication id it saw (as SQS FIFO does for 5 minutes)."""

    sent: list[EvaluationRequest] = field(default_factory=list)

    def send(self, requests: Sequence[EvaluationRequest]) -> None:
        seen = {r.deduplication_id for r in self.sent}
        self.sent.extend(r for r in requests if r.deduplication_id not in seen)


@dataclass
class InMemoryRegistry:
    entries: dict[str, RegisteredCluster] = field(default_factory=dict)

    def registered(self) -> list[RegisteredCluster]:
        return list(self.entries.values())

    def unregister(self, cluster_id: str) -> None:
        self.entries.pop(cluster_id, None)


class ThrottledEmr(FakeEmr):
    """ThrottledEmr answers ListInstanceGroups of the clusters in `throttled` with a throttling error."""

    throttled: set[str]

    def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
        if cluster_id in getattr(self, "throttled", set()):
            self.calls.append(f"instance_groups {cluster_id} throttled")
            raise RuntimeError("ThrottlingException: Rate exceeded")
        return super().instance_groups(cluster_id)


@dataclass
class RecordingBatchMetrics:
    batches: list[dict[str, Any]] = field(default_factory=list)

    def batch(self, **figures: Any) -> None:
        self.batches.append(figures)


def _three_clusters(emr: FakeEmr | None = None) -> tuple[Scaler, FakeEmr, RecordingQueue, InMemoryRegistry]:
    emr = emr or FakeEmr()
    for cluster_id in (CLUSTER_ID, SECOND_ID, THIRD_ID):
        emr.add(snapshot().model_copy(update={"cluster_id": cluster_id}))
    scaler, emr, _store, _sink = make_scaler(emr=emr)
    queue, registry = RecordingQueue(), InMemoryRegistry()
    for cluster_id in (CLUSTER_ID, SECOND_ID, THIRD_ID):
        registry.entries[cluster_id] = RegisteredCluster(
            cluster_id=cluster_id, name=cluster_id, state="RUNNING", registered_at=NOW
        )
    scaler.queue, scaler.registry = queue, registry
    return scaler, emr, queue, registry


def _record(request: EvaluationRequest | str, group: str, n: int) -> dict[str, Any]:
    body = request if isinstance(request, str) else request.model_dump_json()
    return {
        "messageId": f"m{n}",
        "receiptHandle": f"r{n}",
        "body": body,
        "attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:evaluations.fifo",
        "awsRegion": "eu-west-1",
    }


def _batch(*items: tuple[EvaluationRequest | str, str]) -> EvaluationBatch:
    return EvaluationBatch(event={"Records": [_record(body, group, n) for n, (body, group) in enumerate(items)]})


def _request(cluster_id: str, cause: str = "alarm x", event_id: str = "e1") -> EvaluationRequest:
    return evaluation_request(cluster_id, cause, event_id, NOW)


def test_the_tick_enqueues_one_request_per_registered_cluster_and_evaluates_none() -> None:
    # GIVEN three registered clusters and an evaluation queue
    scaler, emr, queue, _registry = _three_clusters()
    # WHEN the schedule fires, twice within its minute (EventBridge retried it)
    first = handle_trigger(ScheduledTick(event_id="tick-1"), scaler)
    handle_trigger(ScheduledTick(event_id="tick-1-retry"), scaler)
    # THEN one request per cluster is queued once, each in its own group, and nothing was read from EMR
    assert first["enqueued"] == 3
    assert first["decisions"] == []
    assert sorted(r.cluster_id for r in queue.sent) == sorted([CLUSTER_ID, SECOND_ID, THIRD_ID])
    assert {r.cause for r in queue.sent} == {TICK_CAUSE}
    assert emr.calls == []


def test_deduplication_ids_are_per_cluster_and_minute_for_the_tick_and_per_event_otherwise() -> None:
    # GIVEN requests of the tick and of events
    tick = evaluation_request(CLUSTER_ID, TICK_CAUSE, "tick-1", NOW)
    # THEN the tick's id names the cluster and the minute: a retry in the minute is the same, the next minute not
    assert tick.deduplication_id == f"{CLUSTER_ID}:tick:{NOW:%Y%m%d%H%M}"
    assert evaluation_request(CLUSTER_ID, TICK_CAUSE, "tick-2", NOW + timedelta(seconds=30)).deduplication_id == (
        tick.deduplication_id
    )
    assert evaluation_request(CLUSTER_ID, TICK_CAUSE, "t", NOW + timedelta(minutes=1)).deduplication_id != (
        tick.deduplication_id
    )
    # AND an event's names the cluster and the event: two alarms in one second are two evaluations
    one, two = _request(CLUSTER_ID, event_id="a-1"), _request(CLUSTER_ID, event_id="a-2")
    assert one.deduplication_id == f"{CLUSTER_ID}:event:a-1"
    assert one.deduplication_id != two.deduplication_id
    assert len(one.deduplication_id) <= 128  # SQS's limit


def test_an_alarm_enqueues_its_cluster() -> None:
    # GIVEN a scaler with a queue
    scaler, emr, queue, _registry = _three_clusters()
    # WHEN an alarm names a cluster
    result = handle_trigger(ClusterTrigger(event_id="alarm-1", cluster_id=SECOND_ID, cause="alarm p"), scaler)
    # THEN that cluster alone is queued, with the alarm as its cause
    assert result["enqueued"] == 1
    assert [(r.cluster_id, r.cause, r.event_id) for r in queue.sent] == [(SECOND_ID, "alarm p", "alarm-1")]
    assert emr.calls == []


def test_a_batch_evaluates_every_cluster_in_it() -> None:
    # GIVEN a batch with one request for each of three clusters
    scaler, emr, _queue, _registry = _three_clusters()
    batch = _batch(*((_request(c), c) for c in (CLUSTER_ID, SECOND_ID, THIRD_ID)))
    # WHEN it is consumed
    response = handle_trigger(batch, scaler)
    # THEN each was evaluated (and, under pending demand, resized) and none is reported failed
    assert response["batchItemFailures"] == []
    assert [d["cluster_id"] for d in response["decisions"]] == [CLUSTER_ID, SECOND_ID, THIRD_ID]
    assert sorted(c for c, _ in emr.resizes) == sorted([CLUSTER_ID, SECOND_ID, THIRD_ID])


def test_a_throttled_evaluation_holds_its_group_and_no_other() -> None:
    # GIVEN a batch: the first cluster, then two requests for a cluster whose EMR reads are throttled (botocore's
    # adaptive retries exhausted), then a third cluster
    emr = ThrottledEmr()
    emr.throttled = {SECOND_ID}
    scaler, emr, _queue, _registry = _three_clusters(emr)
    metrics = RecordingBatchMetrics()
    scaler.batch_metrics, scaler.budget = metrics, 5
    batch = _batch(
        (_request(CLUSTER_ID), CLUSTER_ID),
        (_request(SECOND_ID, event_id="e1"), SECOND_ID),
        (_request(SECOND_ID, event_id="e2"), SECOND_ID),
        (_request(THIRD_ID), THIRD_ID),
    )
    # WHEN it is consumed
    response = handle_trigger(batch, scaler)
    # THEN the throttled request and the later one of its group are reported failed (FIFO: the later one must not
    # run before it), the later one without being evaluated; the other groups were evaluated
    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    assert [d["cluster_id"] for d in response["decisions"]] == [CLUSTER_ID, THIRD_ID]
    assert emr.calls.count(f"instance_groups {SECOND_ID} throttled") == 1
    # AND nothing was done to the throttled cluster on partial data
    assert SECOND_ID not in {c for c, _ in emr.resizes}
    # AND the batch's figures carry the budget and the two records left for the queue to retry
    assert metrics.batches == [
        {"evaluated": 2, "failed": 2, "api_calls": 0, "elapsed_s": pytest.approx(0, abs=5), "budget": 5}
    ]


def test_a_malformed_message_is_a_logged_failure_for_that_message_alone(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a batch whose second message is not an evaluation request
    scaler, _emr, _queue, _registry = _three_clusters()
    batch = _batch(
        (_request(CLUSTER_ID), CLUSTER_ID),
        (json.dumps({"cluster_id": "not-a-cluster", "cause": "x"}), "junk"),
        ("{not json", "junk-2"),
        (_request(SECOND_ID), SECOND_ID),
    )
    # WHEN it is consumed
    with caplog.at_level(logging.ERROR):
        response = handle_trigger(batch, scaler)
    # THEN those two messages alone failed, each logged with why; the clusters around them were evaluated
    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    assert [d["cluster_id"] for d in response["decisions"]] == [CLUSTER_ID, SECOND_ID]
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2
    assert "cluster_id: Value error, not an EMR cluster id" in refused[0]
    assert "not JSON" in refused[1]


def test_the_evaluation_that_finds_a_cluster_gone_removes_it_from_the_registry() -> None:
    # GIVEN a registered cluster EMR no longer knows
    scaler, emr, _queue, registry = _three_clusters()
    del emr.clusters[THIRD_ID]
    # WHEN its queued evaluation runs
    response = handle_trigger(_batch((_request(THIRD_ID), THIRD_ID)), scaler)
    # THEN it holds, and the next tick no longer asks for it
    assert [d["reason"] for d in response["decisions"]] == ["HOLD_CLUSTER_NOT_FOUND"]
    assert sorted(registry.entries) == sorted([CLUSTER_ID, SECOND_ID])
    assert handle_trigger(ScheduledTick(event_id="t"), scaler)["enqueued"] == 2


def test_the_queue_batch_is_parsed_and_its_bodies_validated() -> None:
    # GIVEN an SQS event as Lambda's event source mapping delivers it
    event = _batch((_request(CLUSTER_ID), CLUSTER_ID)).event
    # THEN it parses to an EvaluationBatch, whatever the alarm prefix
    assert isinstance(parse_scaler_trigger(event, "emr-autoscaler-"), EvaluationBatch)
    # AND each body round-trips, and a bad one names what is wrong
    request = _request(CLUSTER_ID)
    assert parse_evaluation_request(request.model_dump_json()) == request
    with pytest.raises(MalformedEvaluationError, match="enqueued_at"):
        parse_evaluation_request(json.dumps({"cluster_id": CLUSTER_ID, "cause": "x", "event_id": "e"}))
    with pytest.raises(MalformedEvaluationError, match="surprise: Extra inputs are not permitted"):
        parse_evaluation_request(request.model_dump_json()[:-1] + ', "surprise": 1}')
