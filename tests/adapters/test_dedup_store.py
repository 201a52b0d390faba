"""DynamoDedupStore on the state table (moto): one message per window, folds counted, races lost safely."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emr_autoscaler.adapters.aws.dynamodb.dedup import LEASE_S, DynamoDedupStore, dedup_key
from emr_autoscaler.adapters.aws.notice_context import EmrNoticeContext
from emr_autoscaler.adapters.aws.sqs_dead_letters import SqsDeadLetters
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.triggers import parse_notice_event
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision
from tests.conftest import load_event

NOW = datetime(2026, 3, 4, 3, 3, 0, tzinfo=UTC)
SETTINGS = Settings(config_parameter="/test/config", state_table="test-state")


@pytest.fixture
def session() -> Iterator[Any]:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        provision(session, SETTINGS, "version: 1\n")
        yield session


def _notice(event_id: str) -> Notice:
    event = load_event("step_failed.json")
    event["id"] = event_id
    notice = parse_notice_event(event)
    assert isinstance(notice, Notice)
    return notice


def test_first_notice_sends_and_the_rest_of_the_window_folds(session: Any) -> None:
    # GIVEN an empty table
    store = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)

    # WHEN the same step failure arrives four times within the window
    claims = [store.claim(_notice(f"ev-{n}"), 600, NOW + timedelta(minutes=n)) for n in range(4)]

    # THEN the first sends, three fold; the item carries the TTL attribute and the documented key
    assert [c.send for c in claims] == [True, False, False, False]
    item = session.client("dynamodb").get_item(TableName=SETTINGS.state_table, Key=dedup_key(_notice("x")))["Item"]
    assert item["pk"]["S"] == "CLUSTER#j-2AXXXXXXGAPLF"
    assert item["sk"]["S"] == "DEDUP#step_failed#step:nightly-aggregate"
    assert item["folded"]["N"] == "3"
    # the TTL is the window opened at NOW, plus the 7 days a folded count waits for the next message
    # (docs/notifications.md)
    assert int(item["expires_at"]["N"]) == int(NOW.timestamp()) + 600 + 7 * 86400


def test_next_notice_after_the_window_reports_the_folded_count(session: Any) -> None:
    # GIVEN a window with one message and four folded
    store = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)
    for n in range(5):
        store.claim(_notice(f"ev-{n}"), 600, NOW + timedelta(minutes=n))

    # WHEN the next one arrives after the window
    claim = store.claim(_notice("ev-late"), 600, NOW + timedelta(minutes=11))

    # THEN it sends and says four were folded
    assert (claim.send, claim.folded_before) == (True, 4)


def test_two_notifiers_racing_on_one_notice_send_once(session: Any) -> None:
    # GIVEN two stores (two concurrent invocations) and two deliveries of the same failure with distinct ids
    first = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)
    second = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)

    # WHEN both claim at the same instant
    claims = [first.claim(_notice("ev-a"), 600, NOW), second.claim(_notice("ev-b"), 600, NOW)]

    # THEN the conditional write lets exactly one send
    assert sorted(c.send for c in claims) == [False, True]


def test_retry_of_a_failed_invocation_sends_again(session: Any) -> None:
    # GIVEN an invocation that claimed the window, then failed and released its claim
    store = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)
    store.claim(_notice("ev-1"), 600, NOW)
    store.release(_notice("ev-1"))

    # WHEN Lambda retries the same event a minute later
    claim = store.claim(_notice("ev-1"), 600, NOW + timedelta(minutes=1))

    # THEN it sends rather than fold
    assert claim.send is True


def test_duplicate_of_a_delivered_or_in_flight_event_sends_nothing(session: Any) -> None:
    # GIVEN one event being delivered, and another already delivered
    store = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)
    store.claim(_notice("ev-1"), 600, NOW)

    # WHEN the same event arrives while the first delivery is in flight, then after it finished
    in_flight = store.claim(_notice("ev-1"), 600, NOW + timedelta(seconds=5))
    store.delivered(_notice("ev-1"))
    after = store.claim(_notice("ev-1"), 600, NOW + timedelta(minutes=3))

    # THEN neither sends nor counts as folded
    assert (in_flight.send, in_flight.duplicate) == (False, True)
    assert (after.send, after.duplicate) == (False, True)
    item = session.client("dynamodb").get_item(TableName=SETTINGS.state_table, Key=dedup_key(_notice("x")))["Item"]
    assert item["folded"]["N"] == "0"


def test_claim_of_a_dead_invocation_expires_with_its_lease(session: Any) -> None:
    # GIVEN an invocation that claimed and died without releasing
    store = DynamoDedupStore(session.client("dynamodb"), SETTINGS.state_table)
    store.claim(_notice("ev-1"), 600, NOW)

    # WHEN its retry arrives after the lease
    claim = store.claim(_notice("ev-1"), 600, NOW + timedelta(seconds=LEASE_S + 1))

    # THEN it sends
    assert claim.send is True


def test_dead_letter_names_the_channel_and_holds_no_url(session: Any) -> None:
    # GIVEN the notification dead-letter queue
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="notification-dlq")["QueueUrl"]

    # WHEN an undeliverable notice is dead-lettered
    SqsDeadLetters(sqs, queue).send("pager", "webhook", _notice("ev-1"), "gave up after 3 request(s): HTTP 503")

    # THEN the message names the channel (body and attribute), the reason, and carries the readable text
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert message["MessageAttributes"]["channel"]["StringValue"] == "pager"
    assert '"channel": "pager"' in message["Body"]
    assert "gave up after 3 request(s): HTTP 503" in message["Body"]
    assert "Step 'nightly-aggregate' (s-1K4B2GJ7W9QXZ) failed" in message["Body"]


def test_notice_context_reads_name_profile_and_log_uri(session: Any) -> None:
    # GIVEN a cluster with a profile tag
    emr = session.client("emr")
    cluster_id = create_cluster(emr, tags={"emr-autoscaler:profile": "nightly-etl"})
    context = EmrNoticeContext(emr)

    # WHEN its facts are read twice, and a cluster EMR does not know
    facts = context.cluster(cluster_id)
    again = context.cluster(cluster_id)
    unknown = context.cluster("j-NOTACLUSTER")

    # THEN name and profile come from EMR, the second read is cached, and the unknown one is None (no raise)
    assert facts is not None
    assert (facts.name, facts.profile) == ("etl-nightly", "nightly-etl")
    assert again is facts
    assert unknown is None
