"""The notifier's Lambda handler on an in-process AWS (moto) with webhooks on a real local HTTP server.

Checks the issue's promises end to end: every channel gets one well-formed message per event, duplicates fold,
a dead endpoint leads to the dead-letter queue and the SNS fallback. The warm time per notice: bench/timings.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from emr_autoscaler import bootstrap
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_notifier
from tests.adapters.notify_server import WebhookServer, webhook_server
from tests.conftest import FakeContext, load_event, load_handler

pytestmark = pytest.mark.network
__all__ = ["webhook_server"]

SETTINGS = Settings(config_parameter="/test/config", state_table="test-state")


def _config(window_s: int) -> str:
    return f"""
version: 1
notifications:
  dedup_window_s: {window_s}
  channels:
    oncall: {{type: slack, secret: test/slack}}
    data-team: {{type: teams, secret: test/teams}}
    pager: {{type: webhook, secret: test/pager}}
  rules:
    - {{min_severity: critical, channels: [pager]}}
  default_channels: [oncall, data-team]
"""


@dataclass
class Stack:
    session: Any
    settings: Settings
    server: WebhookServer
    inbox: str  # an SQS queue subscribed to the fallback topic


def _stack(monkeypatch: pytest.MonkeyPatch, server: WebhookServer, window_s: int) -> Iterator[Stack]:
    bootstrap.reset()
    parameters.clear_caches()
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        provision(session, SETTINGS, _config(window_s))
        secrets = {
            "test/slack": server.url("/slack"),
            "test/teams": server.url("/teams"),
            "test/pager": json.dumps({"url": server.url("/pager"), "signing_secret": "whsec-e2e"}),
        }
        settings = provision_notifier(session, SETTINGS, secrets)
        sqs = session.client("sqs")
        inbox = sqs.create_queue(QueueName="fallback-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        session.client("sns").subscribe(TopicArn=settings.fallback_topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        for field in ("config_parameter", "state_table", "notification_dlq_url", "fallback_topic_arn"):
            monkeypatch.setenv(f"EMR_AUTOSCALER_{field.upper()}", str(getattr(settings, field)))
        yield Stack(session, settings, server, inbox)
    bootstrap.reset()
    parameters.clear_caches()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, webhook_server: WebhookServer) -> Iterator[Stack]:
    yield from _stack(monkeypatch, webhook_server, 600)


@pytest.fixture
def unfolded_stack(monkeypatch: pytest.MonkeyPatch, webhook_server: WebhookServer) -> Iterator[Stack]:
    yield from _stack(monkeypatch, webhook_server, 0)


def _messages(session: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        session.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )
    return messages


def _real_step_failed(session: Any) -> dict[str, Any]:
    """A step failure event naming a cluster and step that exist (under moto), so enrichment reads them."""
    emr = session.client("emr")
    cluster_id = create_cluster(emr, name="etl-nightly", tags={"emr-autoscaler:profile": "nightly-etl"})
    step_id = emr.add_job_flow_steps(
        JobFlowId=cluster_id,
        Steps=[{"Name": "nightly-aggregate", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}],
    )["StepIds"][0]
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=step_id)
    return event


def test_failed_step_and_dead_cluster_reach_every_routed_channel_once(stack: Stack) -> None:
    # GIVEN the handler and the two failure events
    handler = load_handler("notifier")

    # WHEN each is handled
    step = handler.lambda_handler(_real_step_failed(stack.session), FakeContext())
    cluster = handler.lambda_handler(load_event("cluster_terminated_with_errors.json"), FakeContext())

    # THEN each routed channel got exactly one request per event, and nothing was dead-lettered
    assert [d["channel"] for d in step["deliveries"]] == ["oncall", "data-team"]
    assert "profile nightly-etl" in stack.server.received[0].body.decode()
    assert [d["channel"] for d in cluster["deliveries"]] == ["pager"]
    assert all(d["delivered"] and d["requests"] == 1 for d in step["deliveries"] + cluster["deliveries"])
    assert [r.path for r in stack.server.received] == ["/slack", "/teams", "/pager"]
    assert json.loads(stack.server.received[2].body)["kind"] == "cluster_terminated_with_errors"
    assert _messages(stack.session, stack.settings.notification_dlq_url) == []


def test_duplicates_fold_end_to_end(stack: Stack) -> None:
    # GIVEN the same step failure delivered three times with distinct event ids
    handler = load_handler("notifier")
    summaries = []
    for n in range(3):
        event = load_event("step_failed.json")
        event["id"] = f"dup-{n}"
        summaries.append(handler.lambda_handler(event, FakeContext()))

    # WHEN / THEN one message per channel went out; the other two folded
    assert [s["folded"] for s in summaries] == [False, True, True]
    assert len(stack.server.requests_to("/slack")) == 1


def test_dead_endpoint_leads_to_the_dead_letter_queue_and_the_sns_fallback(stack: Stack) -> None:
    # GIVEN the pager endpoint answers 503 to everything
    stack.server.script["/pager"] = [(503, {})] * 10
    handler = load_handler("notifier")

    # WHEN a cluster dies
    summary = handler.lambda_handler(load_event("cluster_terminated_with_errors.json"), FakeContext())

    # THEN the pager's message is in the dead-letter queue naming the channel, and the fallback topic has it
    assert [(d["channel"], d["delivered"]) for d in summary["deliveries"]] == [("pager", False), ("fallback", True)]
    letters = _messages(stack.session, stack.settings.notification_dlq_url)
    assert [m["MessageAttributes"]["channel"]["StringValue"] for m in letters] == ["pager"]
    assert "whsec-e2e" not in letters[0]["Body"]
    assert str(stack.server.port) not in letters[0]["Body"]
    fallback = json.loads(_messages(stack.session, stack.inbox)[0]["Body"])
    assert fallback["Subject"] == "[CRITICAL] EMR cluster 'etl-nightly' (j-2AXXXXXXGAPLF) terminated with errors"


def test_unknown_event_is_ignored(stack: Stack) -> None:
    # GIVEN an event the notifier does not handle / WHEN handled / THEN ignored with a reason, no request
    summary = load_handler("notifier").lambda_handler(load_event("scheduled_tick.json"), FakeContext())
    assert summary["ignored"] is True
    assert stack.server.received == []


def test_warm_handler_sends_one_request_per_channel_per_notice(unfolded_stack: Stack) -> None:
    # GIVEN a warm handler (one invocation already made) and no folding
    handler = load_handler("notifier")
    event = load_event("step_failed.json")
    handler.lambda_handler(event, FakeContext())

    # WHEN the same notice is handled 20 more times, under new event ids
    summaries = []
    for n in range(20):
        event["id"] = f"warm-{n}"
        summaries.append(handler.lambda_handler(event, FakeContext()))

    # THEN each invocation delivered once to each routed channel, with one request each; the warm time per notice
    # is printed by bench/timings.py, not asserted
    for summary in summaries:
        assert [(d["channel"], d["delivered"], d["requests"]) for d in summary["deliveries"]] == [
            ("oncall", True, 1),
            ("data-team", True, 1),
        ]
    assert len(unfolded_stack.server.requests_to("/slack")) == 21
    assert len(unfolded_stack.server.requests_to("/teams")) == 21
