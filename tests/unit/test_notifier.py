"""Notifier use case on fakes: fold, route, deliver, dead-letter, fall back; one message per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emr_autoscaler.kernel.config.document import parse_config
from emr_autoscaler.notifications.domain.notice import ClusterFacts, StepFailure
from emr_autoscaler.notifications.service import Notifier
from tests.conftest import load_event
from tests.fakes import StaticConfig
from tests.notify_fakes import (
    Counter,
    FakeChannels,
    InMemoryDedup,
    RecordingChannel,
    RecordingDeadLetters,
    StaticContext,
)

NOW = datetime(2026, 3, 4, 3, 3, 0, tzinfo=UTC)
DOCUMENT = parse_config(
    {
        "notifications": {
            "channels": {
                "oncall": {"type": "slack", "secret": "stack/slack"},
                "data-team": {"type": "teams", "secret": "stack/teams"},
                "pager": {"type": "webhook", "secret": "stack/pager"},
            },
            "rules": [
                {"min_severity": "critical", "channels": ["pager", "oncall"]},
                {"kinds": ["step_failed"], "profiles": ["nightly-etl"], "channels": ["oncall", "data-team"]},
            ],
            "default_channels": ["oncall"],
            "dedup_window_s": 600,
        }
    }
)


class World:
    """World is a notifier on fakes, with a settable clock."""

    def __init__(self, failing: dict[str, str] | None = None, fallback: bool = True) -> None:
        self.now = NOW
        self.channels = FakeChannels(failing=failing or {})
        self.dedup = InMemoryDedup()
        self.dead_letters = RecordingDeadLetters()
        self.context = StaticContext(
            ClusterFacts(name="etl-nightly", profile="nightly-etl", log_uri="s3://acme-emr-logs/"),
            StepFailure(reason="java.lang.OutOfMemoryError", message="Java heap space", log_file="s3://l/stderr.gz"),
        )
        self.fallback = RecordingChannel("fallback", "sns") if fallback else None
        self.counter = Counter()
        self.notifier = Notifier(
            config=StaticConfig(DOCUMENT),
            dedup=self.dedup,
            channels=self.channels,
            dead_letters=self.dead_letters,
            context=self.context,
            clock=lambda: self.now,
            fallback=self.fallback,
            count=self.counter,
        )

    def sent(self, name: str) -> int:
        channel = self.channels.built.get(name)
        return len(channel.sent) if channel else 0


def _step_failed(event_id: str = "ev-1") -> dict[str, Any]:
    event = load_event("step_failed.json")
    event["id"] = event_id
    return event


def test_failed_step_reaches_its_routed_channels_once_with_emr_details() -> None:
    # GIVEN a step failure on a nightly-etl cluster
    world = World()

    # WHEN the notifier handles it
    summary = world.notifier.handle(_step_failed())

    # THEN on-call and the data team each get one message, with the failure details EMR gave
    assert [d["channel"] for d in summary["deliveries"]] == ["oncall", "data-team"]
    assert all(d["delivered"] and d["requests"] == 1 for d in summary["deliveries"])
    notice = world.channels.built["oncall"].sent[0]
    assert (notice.reason_code, notice.reason_message, notice.log_location) == (
        "java.lang.OutOfMemoryError",
        "Java heap space",
        "s3://l/stderr.gz",
    )
    assert (
        notice.title
        == "Step 'nightly-aggregate' (s-1K4B2GJ7W9QXZ) failed on EMR cluster 'etl-nightly' (j-2AXXXXXXGAPLF)"
    )
    assert world.counter.counts == {"NotificationSent": 2}


def test_duplicates_fold_and_the_next_message_after_the_window_counts_them() -> None:
    # GIVEN the same step failing five times within ten minutes
    world = World()
    for n in range(5):
        world.now = NOW + timedelta(minutes=n)
        world.notifier.handle(_step_failed(f"ev-{n}"))

    # WHEN it fails again after the window
    world.now = NOW + timedelta(minutes=11)
    summary = world.notifier.handle(_step_failed("ev-late"))

    # THEN one message went out in the window, four were folded, and the next message says so
    assert world.sent("oncall") == 2
    assert world.counter.counts["NotificationFolded"] == 4
    assert summary["folded_before"] == 4
    assert world.channels.built["oncall"].sent[-1].folded_text == "and 4 more in 10 min"


def test_duplicate_of_a_delivered_event_sends_nothing() -> None:
    # GIVEN an event whose message went out
    world = World()
    world.notifier.handle(_step_failed("ev-1"))

    # WHEN EventBridge delivers the same event again (at-least-once)
    summary = world.notifier.handle(_step_failed("ev-1"))

    # THEN nothing is sent or folded: one event, one message
    assert summary["duplicate"] is True
    assert world.sent("oncall") == 1


def test_retry_after_a_failed_invocation_sends_again() -> None:
    # GIVEN an event whose invocation failed after claiming the window (its dead letter could not be written)
    world = World(failing={"oncall": "gave up after 3 request(s): HTTP 503"})
    world.dead_letters.broken = True
    with pytest.raises(RuntimeError, match="SQS is down"):
        world.notifier.handle(_step_failed("ev-1"))

    # WHEN Lambda retries the same event, the channel and the queue working again
    world.channels.built["oncall"].fail_with = None
    world.dead_letters.broken = False
    summary = world.notifier.handle(_step_failed("ev-1"))

    # THEN it is sent rather than folded: a retried invocation must not lose its message
    assert summary["folded"] is False
    assert world.sent("oncall") == 1


def test_dead_channel_gets_a_dead_letter_and_a_critical_notice_falls_back_to_sns() -> None:
    # GIVEN the pager webhook is down and a cluster dies (critical)
    world = World(failing={"pager": "gave up after 3 request(s): HTTP 503"})

    # WHEN the notifier handles it
    summary = world.notifier.handle(load_event("cluster_terminated_with_errors.json"))

    # THEN on-call hears it, the pager's message goes to the dead-letter queue naming the channel,
    # it is counted, and the fallback topic gets the notice
    by_channel = {d["channel"]: d for d in summary["deliveries"]}
    assert by_channel["oncall"]["delivered"] is True
    assert by_channel["pager"] == {
        "channel": "pager",
        "delivered": False,
        "requests": 3,
        "error": "gave up after 3 request(s): HTTP 503",
        "dead_lettered": True,
    }
    assert by_channel["fallback"]["delivered"] is True
    assert world.dead_letters.letters == [("pager", "gave up after 3 request(s): HTTP 503")]
    assert world.counter.counts["NotificationDeadLettered"] == 1
    assert world.counter.counts["NotificationFallback"] == 1


def test_warning_that_missed_a_channel_is_dead_lettered_without_fallback() -> None:
    # GIVEN Slack is down and a step fails (a warning)
    world = World(failing={"oncall": "channel refused the message (HTTP 404: no_service)"})

    # WHEN the notifier handles it
    world.notifier.handle(_step_failed())

    # THEN the dead-letter queue holds it; the fallback topic is for critical notices only
    assert world.dead_letters.letters == [("oncall", "channel refused the message (HTTP 404: no_service)")]
    assert world.fallback is not None
    assert world.fallback.sent == []


def test_fallback_that_fails_too_is_dead_lettered() -> None:
    # GIVEN every channel and the fallback topic fail
    world = World(failing={"pager": "down", "oncall": "down"})
    assert world.fallback is not None
    world.fallback.fail_with = "SNS Publish refused (AuthorizationError)"

    # WHEN a cluster dies
    world.notifier.handle(load_event("cluster_terminated_with_errors.json"))

    # THEN each failure, the fallback's included, is a dead letter naming its channel
    assert [c for c, _ in world.dead_letters.letters] == ["pager", "oncall", "fallback"]


def test_unwritable_dead_letter_fails_the_invocation() -> None:
    # GIVEN a dead channel and a dead-letter queue that refuses writes
    world = World(failing={"oncall": "down"})
    world.dead_letters.broken = True

    # WHEN a step fails
    # THEN the invocation raises, so Lambda retries it (and its own OnFailure destination keeps the event)
    with pytest.raises(RuntimeError, match="SQS is down"):
        world.notifier.handle(_step_failed())


def test_without_configuration_notices_go_to_the_fallback_topic() -> None:
    # GIVEN no valid configuration document has been read yet
    world = World()
    world.notifier.config = StaticConfig(None)

    # WHEN a cluster dies
    summary = world.notifier.handle(load_event("cluster_terminated_with_errors.json"))

    # THEN the fallback topic gets it rather than nobody
    assert [d["channel"] for d in summary["deliveries"]] == ["fallback"]


def test_ignored_event_touches_nothing() -> None:
    # GIVEN a cluster terminated by its user
    world = World()

    # WHEN the notifier handles it
    summary = world.notifier.handle(load_event("cluster_state_change_terminated.json"))

    # THEN it is ignored with a reason; no lookup, no dedup write, no message
    assert summary == {
        "ignored": True,
        "reason": "cluster j-2AXXXXXXGAPLF went to TERMINATED (USER_REQUEST): not a failure",
    }
    assert world.context.lookups == []
    assert world.dedup.windows == {}
    assert world.channels.built == {}


def test_folded_notice_costs_no_emr_lookup() -> None:
    # GIVEN a window already open for a step
    world = World()
    world.notifier.handle(_step_failed("ev-1"))
    lookups = len(world.context.lookups)

    # WHEN the same step fails again inside the window
    summary = world.notifier.handle(_step_failed("ev-2"))

    # THEN it folds before any EMR lookup
    assert summary["folded"] is True
    assert len(world.context.lookups) == lookups
