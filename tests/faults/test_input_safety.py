"""Input safety: addresses come from AWS, never from an event; webhooks go only where Secrets Manager says, over
https (or loopback http in tests); no secret value ever reaches a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from emr_autoscaler import bootstrap
from emr_autoscaler.scaling.service import handle_trigger
from emr_autoscaler.scaling.triggers import parse_scaler_trigger
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.service import handle_step_retry_invocation
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_notifier, provision_step_retry
from tests.conftest import FakeContext, load_event
from tests.faults.injection import Calls, HttpAnswer, ScriptedHttpServer
from tests.moto_steps import add_steps, fail_step

pytestmark = pytest.mark.network

SETTINGS = Settings(config_parameter="/safe/config", state_table="safe-state")
SLACK_TOKEN = "T0SAFE/B0SAFE/xoxb-Sl4ckT0kenNeverLogged"
SIGNING_SECRET = "whsec-S1gningSecretNeverLogged"
AWS_SECRET = "AwsSecretKeyNeverLogged0123456789"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    bootstrap.reset()
    parameters.clear_caches()
    with mock_aws():
        yield boto3.Session(region_name="eu-west-1")
    bootstrap.reset()
    parameters.clear_caches()


@pytest.fixture
def attacker() -> Iterator[ScriptedHttpServer]:
    with ScriptedHttpServer(ok=HttpAnswer(body=b'{"clusterMetrics": {}}')).running() as server:
        yield server


def test_resourcemanager_address_never_comes_from_the_event(aws: Any, attacker: ScriptedHttpServer) -> None:
    # GIVEN an opted-in cluster, and an alarm event stuffed with addresses of a server we watch
    config = "version: 1\ndefaults:\n  metrics: {resourcemanager_timeout_s: 0.2}\n"
    provision(aws, SETTINGS, config)
    cluster_id = create_cluster(aws.client("emr"), task=2)
    event = load_event("alarm_state_change.json")
    detail = event["detail"]
    detail["alarmName"] = f"emr-autoscaler-{cluster_id}-ContainerPendingRatio"
    dimensions = detail["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]
    dimensions.update(JobFlowId=cluster_id, MasterPublicDnsName=f"127.0.0.1:{attacker.port}")
    for key in ("url", "resourceManagerUrl", "masterPublicDnsName", "endpoint"):
        detail[key] = attacker.url("/ws/v1/cluster/metrics")
        event[key] = attacker.url("/ws/v1/cluster/metrics")
    # The scaler reads the master's address from DescribeCluster (moto's does not resolve here).
    scaler = bootstrap.build_scaler(SETTINGS, session=aws)

    # WHEN the event is handled
    summary = handle_trigger(parse_scaler_trigger(event, "emr-autoscaler-"), scaler)

    # THEN the cluster was evaluated, and no request went to any address the event named
    assert [d["cluster_id"] for d in summary["decisions"]] == [cluster_id]
    assert attacker.requests == []


def _notifier_world(aws: Any, web: ScriptedHttpServer, slack_url: str) -> Settings:
    config = """
version: 1
notifications:
  channels:
    oncall: {type: slack, secret: safe/slack}
    pager: {type: webhook, secret: safe/pager}
  default_channels: [oncall, pager]
"""
    provision(aws, SETTINGS, config)
    secrets = {
        "safe/slack": slack_url,
        "safe/pager": json.dumps({"url": web.url("/pager"), "signing_secret": SIGNING_SECRET}),
    }
    return provision_notifier(aws, SETTINGS, secrets, prefix="safe")


def test_webhooks_go_only_where_secrets_manager_says(aws: Any, attacker: ScriptedHttpServer) -> None:
    # GIVEN channels whose URLs live in Secrets Manager, and a failure event naming another server everywhere
    with ScriptedHttpServer().running() as web:
        settings = _notifier_world(aws, web, web.url(f"/services/{SLACK_TOKEN}"))
        notifier = bootstrap.build_notifier(settings, session=aws)
        event = load_event("cluster_terminated_with_errors.json")
        for key in ("url", "webhook", "webhookUrl", "callback"):
            event[key] = attacker.url("/hook")
            event["detail"][key] = attacker.url("/hook")
        event["detail"]["name"] = f"etl <{attacker.url('/hook')}|click>"

        # WHEN it is handled
        summary = notifier.handle(event)

    # THEN each configured channel got one request at its own address, and the event's addresses none
    assert [d["delivered"] for d in summary["deliveries"]] == [True, True]
    assert sorted(path for _, path in web.requests) == sorted([f"/services/{SLACK_TOKEN}", "/pager"])
    assert attacker.requests == []


def test_a_webhook_secret_with_a_plain_http_url_is_refused(aws: Any, attacker: ScriptedHttpServer) -> None:
    # GIVEN a Slack secret that holds a plain-http URL to a non-loopback host
    with ScriptedHttpServer().running() as web:
        settings = _notifier_world(aws, web, "http://hooks.example.com/services/x")
        notifier = bootstrap.build_notifier(settings, session=aws)

        # WHEN a notice is sent
        summary = notifier.handle(load_event("cluster_terminated_with_errors.json"))

    # THEN that channel is refused (dead-lettered with the reason), nothing was sent to it
    slack = next(d for d in summary["deliveries"] if d["channel"] == "oncall")
    assert slack["delivered"] is False
    assert slack["requests"] == 0
    assert "only https" in slack["error"]


def _debug_app_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The application's own loggers at DEBUG (botocore's wire logging prints response bodies: never turn it on)."""
    for name in ("emr_autoscaler", "emr-autoscaler", "aws_lambda_powertools"):
        caplog.set_level(logging.DEBUG, logger=name)


def _scan(text: str) -> list[str]:
    return [secret for secret in (SLACK_TOKEN, SIGNING_SECRET, AWS_SECRET, "xoxb-Sl4ck") if secret in text]


def test_logs_of_a_notifier_run_hold_no_secret(
    aws: Any, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a notifier whose Slack endpoint fails (so errors, retries and dead letters are logged too)
    _debug_app_logs(caplog)
    with ScriptedHttpServer(fault=HttpAnswer(status=503)).running() as web:
        settings = _notifier_world(aws, web, web.url(f"/services/{SLACK_TOKEN}"))
        notifier = bootstrap.build_notifier(settings, session=aws)

        # WHEN a failure and a step failure are handled, at debug level
        notifier.handle(load_event("cluster_terminated_with_errors.json"))
        notifier.handle(load_event("step_failed.json"))
    dead = aws.client("sqs").receive_message(QueueUrl=settings.notification_dlq_url, MaxNumberOfMessages=10)

    # THEN neither the logs nor the dead letters (one per notice and channel, so every path was taken) contain a
    # secret value
    out, err = capfd.readouterr()
    assert _scan(out + err + caplog.text) == []
    letters = [json.loads(m["Body"]) for m in dead["Messages"]]
    assert sorted((letter["channel"], letter["notice"]["kind"]) for letter in letters) == [
        ("oncall", "cluster_terminated_with_errors"),
        ("oncall", "step_failed"),
        ("pager", "cluster_terminated_with_errors"),
        ("pager", "step_failed"),
    ]
    assert _scan(json.dumps(dead["Messages"])) == []


def test_logs_of_a_step_retry_run_hold_no_secret(
    aws: Any, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a failed step on an opted-in cluster, and a step-retry function at debug level
    _debug_app_logs(caplog)
    provision(aws, SETTINGS, "version: 1\n")
    settings = provision_step_retry(aws, SETTINGS, "safe-retry")
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    (step,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step, "Container released on a *lost* node")
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=step, name="aggregate")
    calls = Calls()
    calls.attach(aws)
    retrier = bootstrap.build_step_retrier(settings, session=aws, jitter=lambda: 0.0)

    # WHEN the failure is decided and its restart added
    handle_step_retry_invocation(event, FakeContext(), retrier)
    record = load_event("step_retry_due.json")["Records"][0]
    record["body"] = calls.succeeded_params["sqs.SendMessage"][0]["MessageBody"]
    handle_step_retry_invocation({"Records": [record]}, FakeContext(), retrier)

    # THEN a restart was added, and no log line contains the AWS secret key
    assert calls.succeeded["emr.AddJobFlowSteps"] == 1
    out, err = capfd.readouterr()
    assert _scan(out + err + caplog.text) == []
