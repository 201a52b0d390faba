"""The step-retry Lambda handler with the sample events on an in-process AWS (moto), as Lambda would call it.

moto steps never fail by themselves: tests/moto_steps.py makes them FAILED (with FailureDetails) in moto's backend;
the restarts are then checked through the EMR API (ListSteps).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from emr_autoscaler import bootstrap
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_step_retry
from tests.conftest import FakeContext, load_event, load_handler
from tests.moto_steps import REGION, add_steps, fail_step

CONFIG = "version: 1\ndefaults:\n  step_retry: {max_attempts: 2}\n"
LOST_NODE = "Container released on a *lost* node"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    base = Settings(config_parameter="/test/config", state_table="test-state")
    bootstrap.reset()
    parameters.clear_caches()
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        provision(session, base, CONFIG)
        settings = provision_step_retry(session, base)
        for field in ("config_parameter", "state_table", "retry_queue_url", "event_bus"):
            monkeypatch.setenv(f"EMR_AUTOSCALER_{field.upper()}", str(getattr(settings, field)))
        yield session
    bootstrap.reset()
    parameters.clear_caches()


def _failed_event(cluster_id: str, step_id: str, name: str) -> dict[str, Any]:
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=step_id, name=name)
    return event


def _queued() -> list[Any]:
    queue = next(iter(get_backend("sqs")[DEFAULT_ACCOUNT_ID][REGION].queues.values()))
    return list(queue._messages)


def _due(message: Any) -> dict[str, Any]:
    """The SQS event Lambda delivers once the message's delay has passed (the sample, with this body)."""
    event = load_event("step_retry_due.json")
    record = copy.deepcopy(event["Records"][0])
    record.update(messageId=message.id, body=message.body)
    return {"Records": [record]}


def _steps(emr: Any, cluster_id: str) -> list[dict[str, Any]]:
    return list(reversed(emr.list_steps(ClusterId=cluster_id)["Steps"]))  # EMR lists newest first


def test_transient_failure_is_restarted_once_after_its_backoff_with_cancelled_followers(aws: Any) -> None:
    # GIVEN an opted-in cluster running extract -> aggregate -> load -> publish, and aggregate lost its Spot node
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    _, aggregate, _, _ = add_steps(emr, cluster_id, "extract", "aggregate", "load", "publish")
    fail_step(cluster_id, aggregate, LOST_NODE)
    handler = load_handler("step_retry")
    # WHEN the FAILED event reaches the handler twice (EventBridge delivers at least once)
    before_s = time.time()
    first = handler.lambda_handler(_failed_event(cluster_id, aggregate, "aggregate"), FakeContext())
    after_s = time.time()
    second = handler.lambda_handler(_failed_event(cluster_id, aggregate, "aggregate"), FakeContext())
    # THEN one restart is queued with a 2-minute backoff (jitter only shortens it), and the duplicate returns it
    assert first["reason"] == "RETRY_TRANSIENT_FAILURE"
    assert second == first
    queued = _queued()
    assert len(queued) == 1
    # (90-120 s after the first delivery was handled, however long the test itself takes; ±1 s: SQS delays are
    # whole seconds)
    assert before_s + 89 <= queued[0].delayed_until / 1000 <= after_s + 121
    url = os.environ["EMR_AUTOSCALER_RETRY_QUEUE_URL"]
    assert "Messages" not in aws.client("sqs").receive_message(QueueUrl=url)  # not visible before its delay
    # WHEN the delay has passed and SQS delivers the message twice
    added = handler.lambda_handler(_due(queued[0]), FakeContext())
    again = handler.lambda_handler(_due(queued[0]), FakeContext())
    # THEN both batches succeed, and EMR got the restart followed by the cancelled steps, in order, once
    assert added == {"batchItemFailures": []}
    assert again == {"batchItemFailures": []}
    names = [s["Name"] for s in _steps(emr, cluster_id)]
    assert names[4:] == ["aggregate (retry 1/2)", "load", "publish"]
    restart = _steps(emr, cluster_id)[4]
    assert restart["Config"]["Args"] == ["spark-submit", "s3://jobs/aggregate.py"]
    assert restart["Config"]["Properties"] == {"job": "aggregate"}
    assert restart["ActionOnFailure"] == "CANCEL_AND_WAIT"


def test_a_failed_restart_counts_against_the_original_budget(aws: Any) -> None:
    # GIVEN aggregate failed, was restarted, and the restart failed too (twice), each time on S3 503
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (aggregate,) = add_steps(emr, cluster_id, "aggregate")
    handler = load_handler("step_retry")
    step_id, results = aggregate, []
    for _ in range(3):
        fail_step(cluster_id, step_id, "AmazonS3Exception: Slow Down (Status Code: 503)")
        results.append(handler.lambda_handler(_failed_event(cluster_id, step_id, "x"), FakeContext()))
        if results[-1]["outcome"] == "scheduled":
            handler.lambda_handler(_due(_queued()[-1]), FakeContext())
            step_id = _steps(emr, cluster_id)[-1]["Id"]
    # THEN restarts 1/2 and 2/2 were added, then it gave up: 3 runs in all
    assert [r["reason"] for r in results] == [
        "RETRY_TRANSIENT_FAILURE",
        "RETRY_TRANSIENT_FAILURE",
        "GIVE_UP_ATTEMPTS_EXHAUSTED",
    ]
    assert [s["Name"] for s in _steps(emr, cluster_id)] == [
        "aggregate",
        "aggregate (retry 1/2)",
        "aggregate (retry 2/2)",
    ]


def test_permanent_failure_is_not_restarted(aws: Any) -> None:
    # GIVEN a step that failed on a missing class
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (step,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step, "java.lang.ClassNotFoundException: com.acme.Aggregate")
    # WHEN handled
    result = load_handler("step_retry").lambda_handler(_failed_event(cluster_id, step, "aggregate"), FakeContext())
    # THEN it gives up at once; nothing is queued or added
    assert result["reason"] == "GIVE_UP_PERMANENT_FAILURE"
    assert _queued() == []
    assert len(_steps(emr, cluster_id)) == 1


def test_cluster_terminated_during_backoff_gets_no_restart(aws: Any) -> None:
    # GIVEN a scheduled restart, then the cluster was terminated
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (step,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step, LOST_NODE)
    handler = load_handler("step_retry")
    handler.lambda_handler(_failed_event(cluster_id, step, "aggregate"), FakeContext())
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    # WHEN the restart is due
    response = handler.lambda_handler(_due(_queued()[0]), FakeContext())
    # THEN the message is consumed and nothing was added
    assert response == {"batchItemFailures": []}
    assert [s["Name"] for s in _steps(emr, cluster_id)] == ["aggregate"]


def test_unknown_cluster_and_step_are_ignored_without_error(aws: Any) -> None:
    # GIVEN the sample event (its cluster does not exist here), and an event for an unknown step of a real cluster
    cluster_id = create_cluster(aws.client("emr"))
    handler = load_handler("step_retry")
    # WHEN handled, THEN both are ignored with a reason and nothing raises
    assert handler.lambda_handler(load_event("step_failed.json"), FakeContext())["outcome"] == "ignored"
    unknown = handler.lambda_handler(_failed_event(cluster_id, "s-NOSUCHSTEP", "x"), FakeContext())
    assert unknown["reason"] == "IGNORED_UNKNOWN_STEP"


def test_aws_failure_fails_the_invocation_for_retry_and_dlq(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a failed step and a deployment whose retry queue is gone
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (step,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step, LOST_NODE)
    monkeypatch.setenv("EMR_AUTOSCALER_RETRY_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/gone")
    monkeypatch.setattr("botocore.retries.standard.RetryHandler.needs_retry", lambda *_a, **_k: False)
    bootstrap.reset()
    # WHEN handled, THEN the invocation fails (EventBridge retries, then the DLQ) ...
    with pytest.raises(Exception, match=r"NonExistentQueue|does not exist"):
        load_handler("step_retry").lambda_handler(_failed_event(cluster_id, step, "aggregate"), FakeContext())
    # ... and the idempotency record was removed, so the retry is not answered from it
    items = aws.client("dynamodb").scan(TableName="test-state")["Items"]
    assert not [i for i in items if i["pk"]["S"].startswith("IDEMPOTENCY#")]


def test_malformed_queue_message_fails_the_batch_for_redelivery_and_dlq(aws: Any) -> None:
    # GIVEN a queue message that is not a scheduled restart
    event = load_event("step_retry_due.json")
    event["Records"][0]["body"] = json.dumps({"retry": {}})
    # WHEN handled, THEN the batch fails (every record failed: Powertools raises), so SQS redelivers it and its
    # redrive policy dead-letters it; a batch with good records reports only the bad one (see the unit tests)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        load_handler("step_retry").lambda_handler(event, FakeContext())
