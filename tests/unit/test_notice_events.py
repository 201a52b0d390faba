"""Events become notices through the (source, detail-type) registry; anything else is ignored with a reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.notices import NoticeKind, Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.triggers import parse_notice_event
from tests.conftest import load_event


@pytest.mark.parametrize(
    ("sample", "kind", "severity", "reason_code"),
    [
        pytest.param(
            "cluster_terminated_with_errors.json",
            NoticeKind.CLUSTER_TERMINATED_WITH_ERRORS,
            Severity.CRITICAL,
            "BOOTSTRAP_FAILURE",
            id="cluster died",
        ),
        pytest.param("step_failed.json", NoticeKind.STEP_FAILED, Severity.WARNING, None, id="step failed"),
        pytest.param(
            "app_scaling_decision.json",
            NoticeKind.SCALED_OUT,
            Severity.INFO,
            "SCALE_OUT_PENDING_DEMAND",
            id="scaled out",
        ),
        pytest.param(
            "app_step_retry_given_up.json",
            NoticeKind.STEP_RETRY_GIVEN_UP,
            Severity.CRITICAL,
            "GIVE_UP_ATTEMPTS_EXHAUSTED",
            id="retry given up",
        ),
    ],
)
def test_sample_events_become_notices(sample: str, kind: NoticeKind, severity: Severity, reason_code: str) -> None:
    # GIVEN a real-shaped sample event
    event = load_event(sample)

    # WHEN it is parsed
    notice = parse_notice_event(event)

    # THEN it is a notice of the expected kind and severity, with the event's id, region and cluster
    assert isinstance(notice, Notice)
    assert (notice.kind, notice.severity, notice.reason_code) == (kind, severity, reason_code)
    assert notice.event_id == event["id"]
    assert notice.cluster_id == "j-2AXXXXXXGAPLF"
    assert notice.console_url == (
        "https://console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/j-2AXXXXXXGAPLF"
    )


def test_cluster_reason_comes_from_the_structured_state_change_reason() -> None:
    # GIVEN a cluster that terminated with errors, its reason a JSON document in a string
    event = load_event("cluster_terminated_with_errors.json")

    # WHEN it is parsed
    notice = parse_notice_event(event)

    # THEN code and message come from that document, not from the free-text `message`
    assert isinstance(notice, Notice)
    assert notice.reason_code == "BOOTSTRAP_FAILURE"
    assert notice.reason_message == (
        "On the master instance (i-0a1b2c3d4e5f67890), bootstrap action 1 returned a non-zero return code"
    )
    assert notice.title == "EMR cluster 'etl-nightly' (j-2AXXXXXXGAPLF) terminated with errors"


def test_terminated_with_an_error_reason_is_a_notice() -> None:
    # GIVEN a TERMINATED (not ..._WITH_ERRORS) cluster whose step failure ended it
    event = load_event("cluster_terminated_with_errors.json")
    event["detail"]["state"] = "TERMINATED"
    event["detail"]["stateChangeReason"] = json.dumps({"code": "STEP_FAILURE", "message": "Shut down as step failed"})

    # WHEN it is parsed
    notice = parse_notice_event(event)

    # THEN it is a critical notice naming the reason
    assert isinstance(notice, Notice)
    assert notice.severity is Severity.CRITICAL
    assert notice.title == "EMR cluster 'etl-nightly' (j-2AXXXXXXGAPLF) terminated (STEP_FAILURE)"


def _with(sample: str, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(sample))
    event["detail"].update(detail)
    return event


@pytest.mark.parametrize(
    ("event", "reason_part"),
    [
        pytest.param(load_event("cluster_state_change_terminated.json"), "USER_REQUEST", id="terminated by user"),
        pytest.param(_with("cluster_terminated_with_errors.json", state="RUNNING"), "not a failure", id="running"),
        pytest.param(_with("step_failed.json", state="COMPLETED"), "not FAILED", id="step completed"),
        pytest.param(_with("step_failed.json", clusterId="j-x;rm"), "malformed", id="bad cluster id"),
        pytest.param(
            _with("step_failed.json", clusterId="j-2AXXXXXXGAPLF\n"),
            "malformed",
            id="cluster id with a trailing newline",
        ),
        pytest.param(
            _with("step_failed.json", stepId="s-1K4B2GJ7W9QXZ\n"), "malformed", id="step id with a trailing newline"
        ),
        pytest.param(
            _with("cluster_terminated_with_errors.json", clusterId="j-2AXXXXXXGAPLF\n"),
            "malformed cluster id",
            id="dead cluster's id with a trailing newline",
        ),
        pytest.param(_with("step_failed.json", stepId=None), "malformed", id="step id missing"),
        pytest.param(load_event("scheduled_tick.json"), "no notice for source", id="unknown source"),
        pytest.param(_with("app_scaling_decision.json", severity="loud"), "malformed", id="bad app severity"),
        pytest.param(
            {**load_event("app_scaling_decision.json"), "detail-type": "Something New"},
            "no notice for source",
            id="app detail-type of a newer release",
        ),
        pytest.param({"id": "x"}, "not an EventBridge event", id="no envelope"),
        pytest.param(["not", "a", "dict"], "not a JSON object", id="not a mapping"),
        pytest.param({**load_event("step_failed.json"), "region": "../evil"}, "malformed region", id="bad region"),
        pytest.param(
            {**load_event("step_failed.json"), "region": "eu-west-1\n"},
            "malformed region",
            id="region with a trailing newline",
        ),
    ],
)
def test_other_events_are_ignored_with_a_reason(event: Any, reason_part: str) -> None:
    # GIVEN an event that gives no notice (benign, unknown or malformed)
    # WHEN it is parsed
    result = parse_notice_event(event)

    # THEN it is ignored, never an exception, and the reason says why
    assert isinstance(result, Ignored)
    assert reason_part in result.reason


@pytest.mark.parametrize(
    ("detail_type", "reason_code", "severity", "kind"),
    [
        ("Scaling Decision", "SCALE_IN_IDLE", "info", NoticeKind.SCALED_IN),
        ("Scaling Decision", "HOLD_METRICS_STALE", "warning", NoticeKind.SCALING_HELD),
        ("Scaling Decision", "SCALE_OUT_PENDING_DEMAND", "critical", NoticeKind.SCALING_FAILED),
        ("Configuration Refused", "CONFIG_INVALID", "warning", NoticeKind.CONFIGURATION_REFUSED),
        ("Step Retry Scheduled", "RETRY_TRANSIENT_FAILURE", "info", NoticeKind.STEP_RETRY_SCHEDULED),
        ("Step Retry Added", "RETRY_TRANSIENT_FAILURE", "info", NoticeKind.STEP_RETRY_ADDED),
        ("Cluster Watch", "PROFILE_UNKNOWN", "warning", NoticeKind.CLUSTER_WATCH),
    ],
)
def test_app_events_map_to_kinds(detail_type: str, reason_code: str, severity: str, kind: NoticeKind) -> None:
    # GIVEN one of the application's own events
    event = load_event("app_scaling_decision.json")
    event["detail-type"] = detail_type
    event["detail"].update(reason_code=reason_code, severity=severity)

    # WHEN it is parsed
    notice = parse_notice_event(event)

    # THEN its kind follows the detail-type and, for scaling decisions, the reason and severity
    assert isinstance(notice, Notice)
    assert notice.kind is kind


@pytest.mark.parametrize(
    ("from_count", "to_count", "kind"),
    [
        pytest.param(20, 15, NoticeKind.SCALED_IN, id="lowered max: shrink"),
        pytest.param(1, 3, NoticeKind.SCALED_OUT, id="raised min: grow"),
    ],
)
def test_scaling_into_limits_is_named_by_its_direction(from_count: int, to_count: int, kind: NoticeKind) -> None:
    # GIVEN a SCALE_TO_LIMITS decision, whose reason does not say which way it went
    event = load_event("app_scaling_decision.json")
    event["detail"].update(
        reason_code="SCALE_TO_LIMITS",
        severity="info",
        data={"commands": [{"group_id": "ig-1", "from_count": from_count, "to_count": to_count}]},
    )
    # WHEN it is parsed
    notice = parse_notice_event(event)
    # THEN the kind follows the commands: scaled in or out, never "held"
    assert isinstance(notice, Notice)
    assert notice.kind is kind


@pytest.mark.parametrize(
    ("from_max", "to_max", "kind"),
    [
        pytest.param(20, 9, NoticeKind.SCALED_IN, id="maximum lowered"),
        pytest.param(9, 14, NoticeKind.SCALED_OUT, id="maximum raised"),
    ],
)
def test_tuned_managed_scaling_is_named_by_the_way_its_maximum_went(
    from_max: int, to_max: int, kind: NoticeKind
) -> None:
    # GIVEN a SCALE_MANAGED_SCALING_LIMITS decision: no resize command, new managed scaling limits
    event = load_event("app_scaling_decision.json")
    limits = {"unit_type": "Instances", "minimum_units": 2}
    event["detail"].update(
        reason_code="SCALE_MANAGED_SCALING_LIMITS",
        severity="info",
        data={
            "commands": [],
            "managed_scaling": {
                "from_limits": {**limits, "maximum_units": from_max},
                "to_limits": {**limits, "maximum_units": to_max},
                "desired_units": to_max,
            },
        },
    )
    # WHEN it is parsed
    notice = parse_notice_event(event)
    # THEN the kind follows the maximum, never "held"
    assert isinstance(notice, Notice)
    assert notice.kind is kind
