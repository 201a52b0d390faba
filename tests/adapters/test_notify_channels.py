"""Each channel against a real local HTTP server (no HTTP mocks), with golden messages compared exactly.

A missing golden file fails (tests/golden_files.py); after an intended change to a message,
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/adapters/test_notify_channels.py` rewrites tests/golden/notify/.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from emr_autoscaler.adapters.aws.secrets import WebhookSecrets
from emr_autoscaler.adapters.channels.http import HttpPoster, check_url
from emr_autoscaler.adapters.channels.slack import SlackChannel
from emr_autoscaler.adapters.channels.sns import SnsChannel
from emr_autoscaler.adapters.channels.teams import TeamsChannel
from emr_autoscaler.adapters.channels.webhook import SignedWebhookChannel
from emr_autoscaler.notifications.domain.notice import ClusterFacts, Notice, StepFailure, enrich
from emr_autoscaler.notifications.domain.renderers import verify_webhook
from emr_autoscaler.notifications.ports import DeliveryFailedError
from emr_autoscaler.notifications.triggers import parse_notice_event
from tests.adapters.notify_server import WebhookServer, webhook_server
from tests.conftest import ROOT, load_event
from tests.golden_files import assert_matches_golden
from tests.notify_fakes import DictSecrets

pytestmark = pytest.mark.network
__all__ = ["webhook_server"]  # the fixture, imported for pytest

GOLDEN = ROOT / "tests" / "golden" / "notify"
SIGNING_SECRET = "whsec-9f1c2e7a"
SIGNED_AT = 1_772_593_400
FACTS = ClusterFacts(name="etl-nightly", profile="nightly-etl", log_uri="s3://acme-emr-logs/")
FAILURE = StepFailure(
    reason="java.lang.OutOfMemoryError",
    message='Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
    log_file="s3://acme-emr-logs/j-2AXXXXXXGAPLF/steps/s-1K4B2GJ7W9QXZ/stderr.gz",
)


def _notice(sample: str) -> Notice:
    parsed = parse_notice_event(load_event(sample))
    assert isinstance(parsed, Notice)
    return enrich(parsed, FACTS, FAILURE if parsed.step_id else None)


NOTICES = {"step_failed": "step_failed.json", "cluster_terminated": "cluster_terminated_with_errors.json"}


class Sleeps:
    """Sleeps records requested sleeps and advances a fake monotonic clock instead of waiting."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _channels(
    server: WebhookServer, sleeps: Sleeps | None = None
) -> tuple[SlackChannel, TeamsChannel, SignedWebhookChannel]:
    secrets = WebhookSecrets(
        DictSecrets(
            {
                "stack/slack": server.url("/slack"),
                "stack/teams": json.dumps({"url": server.url("/teams")}),
                "stack/pager": json.dumps({"url": server.url("/pager"), "signing_secret": SIGNING_SECRET}),
            }
        )
    )
    sleeps = sleeps or Sleeps()
    poster = HttpPoster(timeout_s=1.0, budget_s=4.0, sleep=sleeps.sleep, monotonic=sleeps.monotonic)
    return (
        SlackChannel("oncall", "stack/slack", secrets, poster),
        TeamsChannel("data-team", "stack/teams", secrets, poster),
        SignedWebhookChannel("pager", "stack/pager", secrets, poster, clock=lambda: SIGNED_AT),
    )


@pytest.mark.parametrize("which", sorted(NOTICES))
def test_each_channel_receives_a_well_formed_message_with_one_request(
    webhook_server: WebhookServer, which: str
) -> None:
    # GIVEN the three webhook channels pointed at the local server
    slack, teams, pager = _channels(webhook_server)
    notice = _notice(NOTICES[which])

    # WHEN one notice is sent to each
    requests = [slack.send(notice), teams.send(notice), pager.send(notice)]

    # THEN each channel got exactly one request, a JSON body equal to its golden file
    assert requests == [1, 1, 1]
    for path, channel in (("/slack", "slack"), ("/teams", "teams"), ("/pager", "webhook")):
        received = webhook_server.requests_to(path)
        assert len(received) == 1
        assert received[0].headers["Content-Type"] == "application/json; charset=utf-8"
        document = json.loads(received[0].body)
        assert_matches_golden(
            GOLDEN / f"{channel}_{which}.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        )
    # ... and the generic webhook's signature verifies over timestamp and body
    signed = webhook_server.requests_to("/pager")[0]
    headers = {"X-Emr-Autoscaler-Timestamp": signed.headers["X-Emr-Autoscaler-Timestamp"]}
    headers["X-Emr-Autoscaler-Signature"] = signed.headers["X-Emr-Autoscaler-Signature"]
    assert verify_webhook(signed.body, SIGNING_SECRET, headers, now=SIGNED_AT)


@pytest.mark.parametrize("which", sorted(NOTICES))
def test_sns_channel_publishes_subject_and_plain_text(which: str) -> None:
    # GIVEN a topic under moto with an SQS subscriber that receives the raw message
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        sns, sqs = session.client("sns"), session.client("sqs")
        topic = sns.create_topic(Name="stack-email")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

        # WHEN the notice is published
        requests = SnsChannel("email", topic, sns).send(_notice(NOTICES[which]))

        # THEN one Publish carried a valid subject and the plain text body of the golden file
        assert requests == 1
        envelope = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert len(envelope["Subject"]) <= 100
    assert_matches_golden(GOLDEN / f"sns_{which}.txt", f"Subject: {envelope['Subject']}\n\n{envelope['Message']}")


def test_429_with_retry_after_is_honoured(webhook_server: WebhookServer) -> None:
    # GIVEN Slack answers 429 with Retry-After: 2 once
    webhook_server.script["/slack"] = [(429, {"Retry-After": "2"})]
    sleeps = Sleeps()
    slack, _, _ = _channels(webhook_server, sleeps)

    # WHEN a notice is sent
    requests = slack.send(_notice("step_failed.json"))

    # THEN it waited the 2 s asked for (injected sleep) and succeeded on the second request
    assert requests == 2
    assert sleeps.slept == [2.0]
    assert len(webhook_server.requests_to("/slack")) == 2


def test_503_then_200_is_retried_with_backoff(webhook_server: WebhookServer) -> None:
    # GIVEN Teams answers 503 once
    webhook_server.script["/teams"] = [(503, {})]
    sleeps = Sleeps()
    _, teams, _ = _channels(webhook_server, sleeps)

    # WHEN a notice is sent
    # THEN a second request after a short backoff delivers it
    assert teams.send(_notice("step_failed.json")) == 2
    assert sleeps.slept == [0.25]


def test_retry_after_beyond_the_budget_gives_up_at_once(webhook_server: WebhookServer) -> None:
    # GIVEN Slack asks to come back in 30 s, beyond the 4 s budget
    webhook_server.script["/slack"] = [(429, {"Retry-After": "30"})]
    sleeps = Sleeps()
    slack, _, _ = _channels(webhook_server, sleeps)

    # WHEN a notice is sent
    with pytest.raises(DeliveryFailedError) as raised:
        slack.send(_notice("step_failed.json"))

    # THEN it gives up without waiting, and says why
    assert sleeps.slept == []
    assert "would exceed the 4 s budget" in raised.value.reason


def test_persistent_5xx_exhausts_the_attempts(webhook_server: WebhookServer) -> None:
    # GIVEN the pager endpoint is down
    webhook_server.script["/pager"] = [(503, {})] * 5
    _, _, pager = _channels(webhook_server)

    # WHEN a notice is sent
    with pytest.raises(DeliveryFailedError) as raised:
        pager.send(_notice("cluster_terminated_with_errors.json"))

    # THEN three requests were made, then it gave up
    assert raised.value.requests == 3
    assert raised.value.reason == "gave up after 3 request(s): HTTP 503: service_unavailable"


def test_4xx_is_not_retried(webhook_server: WebhookServer) -> None:
    # GIVEN Slack says the webhook no longer exists
    webhook_server.script["/slack"] = [(404, {})]
    slack, _, _ = _channels(webhook_server)

    # WHEN a notice is sent
    # THEN one request, and a failure naming the status
    with pytest.raises(DeliveryFailedError, match="HTTP 404"):
        slack.send(_notice("step_failed.json"))
    assert len(webhook_server.requests_to("/slack")) == 1


def test_redirect_to_another_host_is_refused(webhook_server: WebhookServer) -> None:
    # GIVEN the endpoint redirects to another host
    webhook_server.script["/slack"] = [(307, {"Location": "https://collector.example.net/steal"})]
    slack, _, _ = _channels(webhook_server)

    # WHEN a notice is sent
    # THEN the redirect is not followed
    with pytest.raises(DeliveryFailedError, match="redirect to another host refused"):
        slack.send(_notice("step_failed.json"))
    assert len(webhook_server.received) == 1


def test_redirect_on_the_same_host_is_followed(webhook_server: WebhookServer) -> None:
    # GIVEN the endpoint moved to another path on the same server
    webhook_server.script["/slack"] = [(308, {"Location": "/slack-v2"})]
    slack, _, _ = _channels(webhook_server)

    # WHEN a notice is sent
    # THEN the POST is re-sent there
    assert slack.send(_notice("step_failed.json")) == 2
    assert len(webhook_server.requests_to("/slack-v2")) == 1


@pytest.mark.parametrize(
    "url",
    ["http://hooks.slack.com/services/T/B/X", "ftp://127.0.0.1/x", "file:///etc/passwd", "https:///nohost"],
)
def test_only_https_urls_or_loopback_http_are_used(url: str) -> None:
    # GIVEN a URL that is neither https nor loopback http
    # WHEN it is checked
    # THEN it is refused, and the reason does not repeat the URL
    with pytest.raises(DeliveryFailedError) as raised:
        check_url(url)
    assert url not in raised.value.reason


def test_logs_never_contain_the_webhook_url_or_secret(
    webhook_server: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN failing endpoints, so every log path (warning, error) is taken
    webhook_server.script["/slack"] = [(503, {})] * 3
    webhook_server.script["/pager"] = [(429, {"Retry-After": "1"}), (200, {})]
    slack, _, pager = _channels(webhook_server)
    notice = _notice("step_failed.json")

    # WHEN notices are delivered with all logs captured
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(DeliveryFailedError) as raised:
            slack.send(notice)
        pager.send(notice)

    # THEN neither the URLs, their port, nor the signing secret appear in any log line or the error
    text = caplog.text + raised.value.reason
    assert caplog.records
    for secret in (
        webhook_server.url("/slack"),
        webhook_server.url("/pager"),
        f":{webhook_server.port}",
        SIGNING_SECRET,
    ):
        assert secret not in text


def test_missing_secret_is_a_delivery_failure_naming_the_secret_only(webhook_server: WebhookServer) -> None:
    # GIVEN a channel whose secret does not exist
    secrets = WebhookSecrets(DictSecrets({}))
    slack = SlackChannel("oncall", "stack/missing", secrets, HttpPoster())

    # WHEN a notice is sent
    # THEN it fails, naming the secret (never a value)
    with pytest.raises(DeliveryFailedError, match="secret 'stack/missing' could not be read"):
        slack.send(_notice("step_failed.json"))


def test_golden_directory_is_where_the_docs_say() -> None:
    # GIVEN the golden files / WHEN listed / THEN every channel has both messages
    names = {p.name for p in Path(GOLDEN).iterdir()}
    for channel in ("slack", "teams", "webhook"):
        assert {f"{channel}_step_failed.json", f"{channel}_cluster_terminated.json"} <= names
    assert {"sns_step_failed.txt", "sns_cluster_terminated.txt"} <= names
