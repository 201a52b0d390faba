"""Regression tests of what the hardening work found (docs/hardening.md, "Found and fixed")."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from emr_autoscaler import bootstrap
from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.config.document import parse_config
from emr_autoscaler.kernel.notices import NoticeKind, Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.service import Notifier
from emr_autoscaler.notifications.triggers import parse_notice_event
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.service import handle_step_retry_invocation
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_step_retry
from tests.conftest import FakeContext, load_event
from tests.fakes import StaticConfig
from tests.faults.injection import Calls
from tests.moto_steps import add_steps, fail_step
from tests.notify_fakes import FakeChannels, InMemoryDedup, RecordingChannel, RecordingDeadLetters, StaticContext

SETTINGS = Settings(config_parameter="/reg/config", state_table="reg-state")


@pytest.fixture
def aws() -> Iterator[Any]:
    bootstrap.reset()
    parameters.clear_caches()
    with mock_aws():
        yield boto3.Session(region_name="eu-west-1")
    bootstrap.reset()
    parameters.clear_caches()


def test_a_restart_whose_answer_was_lost_is_not_added_twice(aws: Any) -> None:
    # GIVEN a due restart, and EMR that adds the steps but whose answer is lost once (a read timeout)
    provision(aws, SETTINGS, "version: 1\n")
    settings = provision_step_retry(aws, SETTINGS, "reg-retry")
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (step,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step, "Container released on a *lost* node")
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=step, name="aggregate")
    calls = Calls()
    calls.attach(aws)
    lost = [True]

    def lose_the_answer(**_kwargs: Any) -> None:
        if lost.pop() if lost else False:
            raise ReadTimeoutError(endpoint_url="https://elasticmapreduce.eu-west-1.amazonaws.com/")

    aws.events.register("after-call.emr.AddJobFlowSteps", lose_the_answer)
    retrier = bootstrap.build_step_retrier(settings, session=aws, jitter=lambda: 0.0)
    handle_step_retry_invocation(event, FakeContext(), retrier)
    record = copy.deepcopy(load_event("step_retry_due.json")["Records"][0])
    record["body"] = calls.succeeded_params["sqs.SendMessage"][0]["MessageBody"]

    # WHEN the due message is delivered, and delivered again
    first = handle_step_retry_invocation({"Records": [record]}, FakeContext(), retrier)
    second = handle_step_retry_invocation({"Records": [record]}, FakeContext(), retrier)

    # THEN the restart EMR took is recorded (found by its name), not added again; botocore did not retry the add
    names = [s["Name"] for s in emr.list_steps(ClusterId=cluster_id)["Steps"]]
    assert names.count("aggregate (retry 1/2)") == 1
    assert first == second == {"batchItemFailures": []}
    assert calls.calls["emr.AddJobFlowSteps"] == 1


def test_add_job_flow_steps_is_never_retried_by_botocore() -> None:
    # GIVEN the step-retry function as bootstrap builds it
    retrier = bootstrap.build_step_retrier(SETTINGS, session=boto3.Session(region_name="eu-west-1"))

    # WHEN reading the retry configuration of the client that adds steps, and of the one that reads
    add_retries = retrier.emr._add_client.meta.config.retries  # type: ignore[attr-defined]
    read_retries = retrier.emr._client.meta.config.retries  # type: ignore[attr-defined]

    # THEN adds are tried once (the service decides what follows a failure), reads keep adaptive retries
    assert add_retries["total_max_attempts"] == 1
    assert read_retries["mode"] == "adaptive"


def test_a_health_alarm_becomes_one_critical_notice() -> None:
    # GIVEN the stack's scaler-errors alarm going to ALARM, delivered three times (distinct event ids)
    event = load_event("health_alarm_state_change.json")
    channels = FakeChannels()
    notifier = Notifier(
        config=StaticConfig(
            parse_config({"notifications": {"channels": {"oncall": {"type": "slack", "secret": "s"}}}})
        ),
        dedup=InMemoryDedup(),
        channels=channels,
        dead_letters=RecordingDeadLetters(),
        context=StaticContext(),
        clock=lambda: datetime(2026, 3, 4, 3, 20, tzinfo=UTC),
        count=lambda name, value: None,
        fallback=RecordingChannel("fallback", "sns"),
    )

    # WHEN parsed and handled
    notice = parse_notice_event(event)
    summaries = [notifier.handle({**event, "id": f"alarm-{n}"}) for n in range(3)]

    # THEN it is a critical health-alarm notice naming the alarm, sent once (no channel routes it: the fallback)
    assert isinstance(notice, Notice)
    assert notice.kind is NoticeKind.HEALTH_ALARM
    assert notice.severity is Severity.CRITICAL
    assert notice.title == "EMR Autoscaler health alarm health/emr-autoscaler/scaler-errors is ALARM"
    assert [s["folded"] for s in summaries] == [False, True, True]


@pytest.mark.parametrize(
    ("name", "state"),
    [("health/emr-autoscaler/scaler-errors", "OK"), ("emr-autoscaler-j-ABC-ContainerPendingRatio", "ALARM")],
)
def test_recoveries_and_other_alarms_give_no_notice(name: str, state: str) -> None:
    # GIVEN an alarm that recovered, or one that is not a health alarm
    event = load_event("health_alarm_state_change.json")
    event["detail"]["alarmName"] = name
    event["detail"]["state"]["value"] = state

    # WHEN parsed, THEN it is ignored with a reason
    parsed = parse_notice_event(event)
    assert isinstance(parsed, Ignored)
    assert "not a health alarm firing" in parsed.reason
