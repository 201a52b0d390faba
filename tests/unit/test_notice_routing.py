"""Routing by kind, minimum severity and cluster profile; the `notifications` section is validated by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from emr_autoscaler.kernel.config.document import ConfigInvalidError, parse_config
from emr_autoscaler.kernel.config.notifications import NotificationsConfig
from emr_autoscaler.kernel.notices import NoticeKind, Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.routing import route_notice

CHANNELS = {
    "oncall": {"type": "slack", "secret": "stack/slack-oncall"},
    "data-team": {"type": "teams", "secret": "stack/teams-data"},
    "pager": {"type": "webhook", "secret": "stack/pager"},
    "email": {"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:stack-email"},
}
ROUTING = NotificationsConfig.model_validate(
    {
        "channels": CHANNELS,
        "rules": [
            {"min_severity": "critical", "channels": ["pager", "oncall"]},
            {"kinds": ["step_failed", "step_retry_given_up"], "channels": ["oncall"]},
            {"profiles": ["nightly-etl"], "min_severity": "warning", "channels": ["data-team"]},
        ],
        "default_channels": ["email"],
    }
)


def _notice(kind: NoticeKind, severity: Severity, profile: str | None = None) -> Notice:
    return Notice(
        kind=kind,
        severity=severity,
        title="t",
        event_id="e",
        region="eu-west-1",
        occurred_at=datetime(2026, 3, 4, tzinfo=UTC),
        cluster_id="j-1",
        profile=profile,
    )


@pytest.mark.parametrize(
    ("notice", "channels"),
    [
        pytest.param(
            _notice(NoticeKind.CLUSTER_TERMINATED_WITH_ERRORS, Severity.CRITICAL),
            ("pager", "oncall"),
            id="critical goes to pager and on-call, each once",
        ),
        pytest.param(_notice(NoticeKind.STEP_FAILED, Severity.WARNING), ("oncall",), id="kind rule"),
        pytest.param(
            _notice(NoticeKind.STEP_FAILED, Severity.WARNING, "nightly-etl"),
            ("oncall", "data-team"),
            id="kind and profile rules add up",
        ),
        pytest.param(
            _notice(NoticeKind.SCALED_OUT, Severity.INFO, "nightly-etl"),
            ("email",),
            id="profile rule's minimum severity not met: default",
        ),
        pytest.param(_notice(NoticeKind.SCALED_IN, Severity.INFO), ("email",), id="nothing matches: default"),
        pytest.param(
            _notice(NoticeKind.STEP_RETRY_GIVEN_UP, Severity.CRITICAL, "nightly-etl"),
            ("pager", "oncall", "data-team"),
            id="three rules, rule order kept",
        ),
    ],
)
def test_route_notice(notice: Notice, channels: tuple[str, ...]) -> None:
    # GIVEN the routing above and a notice
    # WHEN it is routed
    # THEN every matching rule adds its channels, once each, and unmatched notices go to the default
    assert route_notice(notice, ROUTING) == channels


def test_default_profile_matches_untagged_clusters() -> None:
    # GIVEN a rule for the default profile
    config = NotificationsConfig.model_validate(
        {"channels": CHANNELS, "rules": [{"profiles": ["default"], "channels": ["oncall"]}]}
    )

    # WHEN a notice about a cluster without a profile tag is routed
    # THEN the rule matches it
    assert route_notice(_notice(NoticeKind.SCALED_OUT, Severity.INFO), config) == ("oncall",)


@pytest.mark.parametrize(
    ("notifications", "message"),
    [
        pytest.param(
            {"channels": {"x": {"type": "slack", "secret": "https://hooks.slack.com/services/T/B/X"}}},
            "notifications.channels.x.secret: Value error, must be a Secrets Manager secret name",
            id="URL where a secret name belongs",
        ),
        pytest.param(
            {"channels": {"x": {"type": "sns", "secret": "a/b"}}},
            "notifications.channels.x: Value error, an sns channel needs topic_arn",
            id="sns without topic",
        ),
        pytest.param(
            {"channels": {"x": {"type": "sns", "topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"}}},
            "notifications.channels.x.topic_arn: Value error, must be an SNS topic ARN",
            id="not a topic",
        ),
        pytest.param(
            {"channels": {"x": {"type": "pagerduty", "secret": "a"}}},
            "notifications.channels.x.type: Input should be 'slack', 'teams', 'webhook' or 'sns'",
            id="unknown type",
        ),
        pytest.param(
            {"rules": [{"channels": ["nope"]}]},
            "notifications: Value error, rules[0] names unknown channel(s): nope",
            id="unknown channel in rule",
        ),
        pytest.param(
            {"channels": CHANNELS, "rules": [{"kinds": ["exploded"], "channels": ["oncall"]}]},
            "notifications.rules.0.kinds.0: Input should be",
            id="unknown kind",
        ),
        pytest.param({"dedup_window_s": -1}, "notifications.dedup_window_s: Input should be greater than", id="dedup"),
        pytest.param({"webhook_url": "x"}, "notifications.webhook_url: Extra inputs are not permitted", id="typo"),
        pytest.param({"channels": {"Bad Name": {"type": "slack", "secret": "a"}}}, "channel name", id="bad name"),
    ],
)
def test_invalid_notifications_name_the_field(notifications: dict[str, Any], message: str) -> None:
    # GIVEN a configuration document with a broken notifications section
    # WHEN it is parsed
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config({"notifications": notifications})

    # THEN the error names the field
    assert message in str(raised.value)


def test_document_without_notifications_has_none() -> None:
    # GIVEN a document without a notifications section
    # WHEN it is parsed
    document = parse_config({})

    # THEN there are no channels, and dedup folds within 10 minutes
    assert document.notifications.channels == {}
    assert document.notifications.dedup_window_s == 600
