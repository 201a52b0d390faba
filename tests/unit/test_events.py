"""Trigger parsing: every sample event maps to the right trigger; anything else is ignored with a reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.scaling.triggers import ClusterTrigger, ScheduledTick, parse_scaler_trigger
from tests.conftest import load_event

PREFIX = "emr-autoscaler-"


def test_scheduled_event_is_a_tick() -> None:
    # GIVEN the EventBridge schedule's event
    event = load_event("scheduled_tick.json")
    # WHEN parsed, THEN it is a tick carrying the event id
    assert parse_scaler_trigger(event, PREFIX) == ScheduledTick(event_id=event["id"])


def test_alarm_names_its_cluster_by_dimension() -> None:
    # GIVEN a CloudWatch alarm state change to ALARM
    event = load_event("alarm_state_change.json")
    # WHEN parsed
    trigger = parse_scaler_trigger(event, PREFIX)
    # THEN the cluster comes from the JobFlowId dimension
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.cluster_id == "j-2AXXXXXXGAPLF"


def test_alarm_without_dimension_falls_back_to_its_name() -> None:
    # GIVEN an alarm event whose configuration has no metrics
    event = load_event("alarm_state_change.json")
    event["detail"]["configuration"] = {}
    # WHEN parsed, THEN the cluster id comes from the alarm name
    trigger = parse_scaler_trigger(event, PREFIX)
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.cluster_id == "j-2AXXXXXXGAPLF"


def test_instance_group_change_names_its_cluster() -> None:
    # GIVEN an EMR instance group state change
    event = load_event("instance_group_state_change.json")
    # WHEN parsed, THEN it triggers that cluster
    trigger = parse_scaler_trigger(event, PREFIX)
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.cluster_id == "j-2AXXXXXXGAPLF"
    assert "RUNNING" in trigger.cause


def _mutate(name: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("event", "why"),
    [
        pytest.param(["not", "an", "object"], "not a JSON object", id="list instead of object"),
        pytest.param({}, "not an EventBridge event", id="empty object"),
        pytest.param(
            {"id": "1", "source": "aws.s3", "detail-type": "Object Created", "detail": {}}, "no handler", id="unknown"
        ),
        pytest.param(
            _mutate("alarm_state_change.json", ("detail", "state", "value"), "OK"), "not ALARM", id="alarm OK"
        ),
        pytest.param(
            _mutate("alarm_state_change.json", ("detail", "alarmName"), "someone-elses-alarm"),
            "does not start with",
            id="foreign alarm",
        ),
        pytest.param(
            _mutate("alarm_state_change.json", ("detail", "state"), "ALARM"), "malformed", id="state not an object"
        ),
        pytest.param(
            _mutate("instance_group_state_change.json", ("detail", "clusterId"), "../../etc"),
            "malformed cluster id",
            id="hostile cluster id",
        ),
        pytest.param(
            _mutate("instance_group_state_change.json", ("detail", "clusterId"), "j-2AXXXXXXGAPLF\n"),
            "malformed cluster id",
            id="cluster id with a trailing newline",
        ),
        pytest.param(_mutate("instance_group_state_change.json", ("detail",), None), "malformed", id="detail missing"),
    ],
)
def test_bad_events_are_ignored_with_a_reason(event: Any, why: str) -> None:
    # GIVEN an event the scaler cannot use
    # WHEN parsed
    trigger = parse_scaler_trigger(event, PREFIX)
    # THEN it is ignored, and the reason says why
    assert isinstance(trigger, Ignored)
    assert why in trigger.reason
