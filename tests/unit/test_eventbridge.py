"""One EventBridge module: every sample event parses through the table of each job that consumes it, and anything
unknown or malformed is ignored with a reason naming the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from emr_autoscaler.eventbridge import (
    DETAIL_MODELS,
    MAX_REASON_CHARS,
    DetailType,
    Envelope,
    Ignored,
    InstanceFleetResizeDetail,
    InstanceFleetStateChangeDetail,
    InstanceGroupProvisioningDetail,
    ManagedScalingActionDetail,
    Routes,
    Source,
    route,
)
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.triggers import NOTICE_ROUTES, parse_notice_event
from emr_autoscaler.scaling.triggers import (
    ClusterTrigger,
    NodeLoss,
    ScheduledTick,
    SpotInterruption,
    parse_scaler_trigger,
    scaler_routes,
)
from emr_autoscaler.steps.triggers import STEP_ROUTES, StepFailure, parse_retry_message, parse_step_failure
from emr_autoscaler.watch.triggers import WATCH_ROUTES, ClusterStateChange, WatchTick, parse_watch_trigger
from tests.conftest import EVENTS, load_event

PREFIX = "emr-autoscaler-"
CLUSTER_ID = "j-2AXXXXXXGAPLF"


def _details(event: Any) -> BaseModel | Ignored:
    """Routes any modelled event to its parsed detail: for the events no job consumes yet."""
    identity: Routes[BaseModel] = {key: lambda _envelope, detail: detail for key in DETAIL_MODELS}
    return route(event, identity)


JOBS: dict[str, Callable[[Any], Any]] = {
    "scaler": lambda event: parse_scaler_trigger(event, PREFIX),
    "watch": parse_watch_trigger,
    "steps": parse_step_failure,
    "notifier": parse_notice_event,
    "later issues": _details,
}

# Every sample in events/, the job(s) whose rule delivers it, and what each makes of it. A benign event a job
# receives (a cluster ended by its user) is read and then ignored for a reason of its own, never as malformed.
CONSUMERS: dict[str, dict[str, type[BaseModel] | str]] = {
    "scheduled_tick.json": {"scaler": ScheduledTick, "watch": WatchTick},
    "alarm_state_change.json": {"scaler": ClusterTrigger},
    "instance_group_state_change.json": {"scaler": ClusterTrigger},
    "instance_fleet_state_change.json": {"scaler": ClusterTrigger},
    "spot_interruption_warning.json": {"scaler": SpotInterruption},
    "cluster_state_change_running.json": {"watch": ClusterStateChange},
    "cluster_state_change_terminated.json": {"watch": ClusterStateChange, "notifier": "not a failure"},
    "cluster_terminated_with_errors.json": {"watch": ClusterStateChange, "notifier": Notice},
    "step_failed.json": {"steps": StepFailure, "notifier": Notice},
    "app_scaling_decision.json": {"notifier": Notice},
    "app_step_retry_given_up.json": {"notifier": Notice},
    "health_alarm_state_change.json": {"notifier": Notice},
    "instance_fleet_resize_spot_timeout.json": {"scaler": ClusterTrigger},
    "instance_group_provisioning_insufficient_capacity.json": {"scaler": ClusterTrigger},
    "instance_fleet_provisioning_insufficient_capacity.json": {"scaler": ClusterTrigger},
    "managed_scaling_action.json": {"later issues": ManagedScalingActionDetail},
    "instance_group_status_notification.json": {"scaler": NodeLoss},
    "instance_fleet_status_notification.json": {"scaler": NodeLoss},
}
SQS_SAMPLES = {"step_retry_due.json"}


def test_every_sample_has_a_consumer() -> None:
    # GIVEN the sample events on disk
    samples = {path.name for path in EVENTS.glob("*.json")}
    # WHEN compared with the table of consumers, THEN each EventBridge sample is listed, and nothing else
    assert samples - SQS_SAMPLES == set(CONSUMERS)


@pytest.mark.parametrize(
    ("sample", "job", "expected"),
    [
        pytest.param(sample, job, expected, id=f"{sample} -> {job}")
        for sample, jobs in CONSUMERS.items()
        for job, expected in jobs.items()
    ],
)
def test_samples_parse_through_the_jobs_that_consume_them(sample: str, job: str, expected: type | str) -> None:
    # GIVEN a real-shaped sample
    event = load_event(sample)
    # WHEN the job's table routes it
    result = JOBS[job](event)
    # THEN it is what the job makes of it; an event it ignores is ignored as benign, not as malformed
    if isinstance(expected, str):
        assert isinstance(result, Ignored)
        assert expected in result.reason
        assert "malformed" not in result.reason
    else:
        assert isinstance(result, expected), getattr(result, "reason", result)


def test_the_sqs_sample_is_a_retry_message() -> None:
    # GIVEN the retry queue's sample, WHEN its body is read, THEN it is the scheduled retry
    body = load_event("step_retry_due.json")["Records"][0]["body"]
    assert parse_retry_message(body).retry.cluster_id == CLUSTER_ID


def test_new_emr_events_keep_the_fields_later_issues_read() -> None:
    # GIVEN the fleet, provisioning and managed scaling samples, WHEN parsed
    fleet = _details(load_event("instance_fleet_state_change.json"))
    resize = _details(load_event("instance_fleet_resize_spot_timeout.json"))
    capacity = _details(load_event("instance_group_provisioning_insufficient_capacity.json"))
    managed = _details(load_event("managed_scaling_action.json"))
    # THEN the ids, the fleet's role and state, and the documented event codes are read
    assert isinstance(fleet, InstanceFleetStateChangeDetail)
    assert (fleet.cluster_id, fleet.instance_fleet_id, fleet.instance_fleet_type, fleet.state) == (
        CLUSTER_ID,
        "if-2BXXXXXXXXXA7",
        "TASK",
        "RUNNING",
    )
    assert isinstance(resize, InstanceFleetResizeDetail)
    assert resize.event_code == "Spot Provisioning timeout"
    assert isinstance(capacity, InstanceGroupProvisioningDetail)
    assert capacity.event_code == "EC2 provisioning - Insufficient Instance Capacity"
    assert capacity.instance_group_type == "TASK"
    assert isinstance(managed, ManagedScalingActionDetail)
    assert managed.cluster_id == CLUSTER_ID


@pytest.mark.parametrize(
    ("sample", "cause"),
    [
        pytest.param("instance_fleet_state_change.json", "instance fleet state RUNNING", id="fleet state change"),
        pytest.param(
            "instance_fleet_resize_spot_timeout.json",
            "EMR Instance Fleet Resize: Spot Provisioning timeout",
            id="fleet Spot provisioning timeout",
        ),
        pytest.param(
            "instance_group_provisioning_insufficient_capacity.json",
            "EMR Instance Group Provisioning: EC2 provisioning - Insufficient Instance Capacity",
            id="group short of EC2 capacity",
        ),
        pytest.param(
            "instance_fleet_provisioning_insufficient_capacity.json",
            "EMR Instance Fleet Provisioning: EC2 provisioning - Insufficient Instance Capacity",
            id="fleet short of EC2 capacity",
        ),
    ],
)
def test_the_scaler_evaluates_a_cluster_whose_fleet_or_capacity_changed(sample: str, cause: str) -> None:
    # GIVEN a fleet event, or EMR saying a resize is short of capacity
    # WHEN the scaler routes it
    trigger = parse_scaler_trigger(load_event(sample), PREFIX)
    # THEN the cluster is evaluated now, and the cause says why
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.cluster_id == CLUSTER_ID
    assert trigger.cause == cause


def test_a_spot_interruption_names_the_instance_and_a_malformed_id_is_ignored() -> None:
    # GIVEN EC2's two-minute warning
    event = load_event("spot_interruption_warning.json")
    # WHEN routed, THEN the scaler is to find the instance's cluster
    trigger = parse_scaler_trigger(event, PREFIX)
    assert isinstance(trigger, SpotInterruption)
    assert trigger.ec2_instance_id == "i-0b662ef9931388ba0"
    # AND an instance id that is not one is ignored naming the field
    event["detail"]["instance-id"] = "i-../../etc"
    ignored = parse_scaler_trigger(event, PREFIX)
    assert isinstance(ignored, Ignored)
    assert "instance-id" in ignored.reason


def test_a_malformed_fleet_event_is_ignored_with_the_field() -> None:
    # GIVEN a fleet resize event without its eventCode
    event = load_event("instance_fleet_resize_spot_timeout.json")
    del event["detail"]["eventCode"]
    # WHEN routed, THEN ignored naming the missing field
    trigger = parse_scaler_trigger(event, PREFIX)
    assert isinstance(trigger, Ignored)
    assert "detail.eventCode" in trigger.reason


@pytest.mark.parametrize(
    ("time", "full_sync"),
    [
        pytest.param("2026-11-26T08:00:00Z", True, id="first minutes of the quarter hour: full sync"),
        pytest.param("2026-11-26T08:19:59Z", True, id="minute 19 is minute 4 of the quarter"),
        pytest.param("2026-11-26T08:07:00Z", False, id="later in the quarter: registered clusters only"),
    ],
)
def test_watch_tick_syncs_fully_once_a_quarter_hour(time: str, full_sync: bool) -> None:
    # GIVEN the watch's schedule at some minute, WHEN routed, THEN the full sync follows the minute
    trigger = parse_watch_trigger(load_event("scheduled_tick.json") | {"time": time})
    assert isinstance(trigger, WatchTick)
    assert trigger.full_sync is full_sync


def _with(sample: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(sample))
    target = event
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


ANY_JOB = pytest.mark.parametrize("job", ["scaler", "watch", "steps", "notifier"])


@pytest.mark.parametrize(
    ("event", "why"),
    [
        pytest.param(["not", "an", "object"], "event is a list, not a JSON object", id="a list"),
        pytest.param({}, "not an EventBridge event: source: Field required", id="empty object"),
        pytest.param({"source": "aws.emr", "detail-type": 7}, "not an EventBridge event: detail-type:", id="bad key"),
        pytest.param(
            {**load_event("step_failed.json"), "detail-type": "EMR Something New"},
            "for source 'aws.emr' / 'EMR Something New'",
            id="unknown detail-type",
        ),
    ],
)
@ANY_JOB
def test_unroutable_events_are_ignored_by_every_job(job: str, event: Any, why: str) -> None:
    # GIVEN an event no table can route, WHEN any job parses it, THEN it is ignored and the reason says why
    result = JOBS[job](event)
    assert isinstance(result, Ignored)
    assert why in result.reason


@pytest.mark.parametrize(
    ("job", "event", "why"),
    [
        pytest.param(
            "scaler",
            _with("instance_group_state_change.json", ("time",), ...),
            "malformed EMR Instance Group State Change event: time: Field required",
            id="envelope without time",
        ),
        pytest.param(
            "watch",
            _with("scheduled_tick.json", ("time",), "at tea time"),
            "malformed Scheduled Event event: time: Input should be a valid datetime",
            id="envelope with an unreadable time",
        ),
        pytest.param(
            "steps",
            _with("step_failed.json", ("id",), "x" * 200),
            "malformed EMR Step Status Change event: id: String should have at most 128 characters",
            id="envelope id too long",
        ),
        pytest.param(
            "scaler",
            _with("instance_group_state_change.json", ("detail", "clusterId"), "../../etc"),
            "malformed EMR Instance Group State Change event: detail.clusterId: malformed cluster id '../../etc'",
            id="hostile cluster id",
        ),
        pytest.param(
            "watch",
            _with("cluster_state_change_running.json", ("detail", "clusterId"), "j-2AXXXXXXGAPLF\n"),
            "detail.clusterId: malformed cluster id 'j-2AXXXXXXGAPLF\\n'",
            id="cluster id with a trailing newline",
        ),
        pytest.param(
            "steps",
            _with("step_failed.json", ("detail", "stepId"), "s-1;rm"),
            "detail.stepId: malformed step id 's-1;rm'",
            id="bad step id",
        ),
        pytest.param(
            "notifier",
            _with("cluster_state_change_running.json", ("detail", "state"), ...),
            "malformed EMR Cluster State Change event: detail.state: Field required",
            id="required detail field missing",
        ),
        pytest.param(
            "later issues",
            _with("instance_fleet_resize_spot_timeout.json", ("detail", "eventCode"), ...),
            "malformed EMR Instance Fleet Resize event: detail.eventCode: Field required",
            id="resize without its event code",
        ),
        pytest.param(
            "scaler",
            _with("alarm_state_change.json", ("detail", "state", "value"), None),
            "detail.state.value: Input should be a valid string",
            id="nested field",
        ),
    ],
)
def test_malformed_events_are_ignored_naming_the_field(job: str, event: Any, why: str) -> None:
    # GIVEN a handled event with a malformed envelope or detail, WHEN its job parses it
    result = JOBS[job](event)
    # THEN it is ignored, and the reason names the event, the field and the problem
    assert isinstance(result, Ignored)
    assert why in result.reason


def test_fields_aws_adds_are_ignored() -> None:
    # GIVEN samples with fields no model names, in the detail and in the envelope
    group = _with("instance_group_state_change.json", ("detail", "spotProvisioningStrategy"), {"new": True})
    step = _with("step_failed.json", ("replay-name",), "weekly-replay") | {"newEnvelopeField": 1}
    # WHEN parsed, THEN they parse as before
    assert isinstance(parse_scaler_trigger(group, PREFIX), ClusterTrigger)
    assert isinstance(parse_step_failure(step), StepFailure)


def test_a_mappers_validation_error_is_ignored_not_raised() -> None:
    # GIVEN a table whose mapper builds a model from a field the model refuses
    class Count(BaseModel):
        n: int

    routes: Routes[Count] = {
        (Source.SCHEDULE, DetailType.SCHEDULED_EVENT): lambda e, _d: Count.model_validate({"n": e.account})
    }
    # WHEN routed, THEN the mapper's refusal is the reason
    result = route(load_event("scheduled_tick.json") | {"account": "not-a-number"}, routes)
    assert isinstance(result, Ignored)
    assert result.reason.startswith("malformed Scheduled Event event: n: Input should be a valid integer")


def test_reasons_are_bounded() -> None:
    # GIVEN a reason built from hostile input, WHEN held by Ignored, THEN it is cut to the bound
    reason = Ignored(reason="x" * 10_000).reason
    assert len(reason) == MAX_REASON_CHARS
    assert reason.endswith("...")


def _envelope_cases() -> list[tuple[str, Any]]:
    """Every EventBridge sample, and each bent the ways a hostile or broken producer would bend it."""
    cases: list[tuple[str, Any]] = []
    for path in sorted(EVENTS.glob("*.json")):
        event = load_event(path.name)
        if "detail-type" not in event:
            continue
        cases.append((path.name, event))
        for key in ("version", "id", "source", "account", "time", "region", "resources", "detail-type", "detail"):
            cases.append((f"{path.name} without {key}", {k: v for k, v in event.items() if k != key}))
        for key, value in [
            ("time", "not a time"),
            ("resources", "arn:aws:emr:eu-west-1:123456789012:cluster/j-1"),
            ("detail", "{}"),
            ("detail", ["a", "list"]),
            ("account", 123456789012),
            ("replay-name", "nightly-replay"),
            ("source", "aws.scheduler"),
        ]:
            cases.append((f"{path.name} with {key}={value!r}", {**event, key: value}))
    scheduled = load_event("scheduled_tick.json")
    cases.append(("scheduler's empty detail string", {**scheduled, "source": "aws.scheduler", "detail": "{}"}))
    cases.extend((case, {**scheduled, "id": value}) for case, value in NARROWER_THAN_POWERTOOLS.items())
    return cases


# Where the envelope is deliberately stricter: jobs key state and dedup on the event id, so it must be 1-128 chars.
NARROWER_THAN_POWERTOOLS = {"empty id": "", "129-character id": "x" * 129}


@pytest.mark.parametrize(("case", "event"), _envelope_cases(), ids=[c for c, _ in _envelope_cases()])
def test_the_envelope_gives_powertools_eventbridge_models_verdicts(case: str, event: Any) -> None:
    # GIVEN Powertools Parser's EventBridgeModel (the envelope's reference; not imported by the layer, it would load
    # every Powertools event model at cold start)
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
    from pydantic import ValidationError

    # WHEN both parse the event
    try:
        reference: EventBridgeModel | None = EventBridgeModel.model_validate(event)
    except ValidationError:
        reference = None
    try:
        ours: Envelope | None = Envelope.model_validate(event)
    except ValidationError:
        ours = None

    # THEN ours accepts exactly what Powertools accepts (with a JSON-object detail and a bounded id), same values
    if case in NARROWER_THAN_POWERTOOLS:
        assert (reference is not None, ours) == (True, None), case
    elif reference is None or not isinstance(reference.detail, dict):
        assert ours is None, case
    else:
        assert ours is not None, case
        assert ours.model_dump() == {**reference.model_dump(), "detail": reference.detail}, case


def test_the_envelope_reads_detail_type_by_its_alias() -> None:
    # GIVEN a sample, WHEN parsed as the envelope, THEN Powertools' fields are there, `detail-type` by its alias
    envelope = Envelope.model_validate(load_event("scheduled_tick.json"))
    assert (envelope.detail_type, envelope.time) == ("Scheduled Event", datetime(2026, 11, 26, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    "routes",
    [scaler_routes(PREFIX), WATCH_ROUTES, STEP_ROUTES, NOTICE_ROUTES],
    ids=["scaler", "watch", "steps", "notifier"],
)
def test_every_routed_event_has_a_detail_model(routes: Routes[Any]) -> None:
    # GIVEN a job's table, WHEN compared with the detail models, THEN each key it routes has one
    assert set(routes) <= set(DETAIL_MODELS)


def test_a_node_loss_notification_names_the_cluster_and_the_group_or_fleet() -> None:
    # GIVEN EMR's node-loss notifications for a group and a fleet
    group = parse_scaler_trigger(load_event("instance_group_status_notification.json"), PREFIX)
    fleet = parse_scaler_trigger(load_event("instance_fleet_status_notification.json"), PREFIX)
    # THEN each names the cluster and where the nodes were lost, never parsing the message
    assert isinstance(group, NodeLoss)
    assert (group.cluster_id, group.owner_id) == (CLUSTER_ID, "ig-3QXXXXXXXXT2B")
    assert isinstance(fleet, NodeLoss)
    assert fleet.owner_id == "if-2BXXXXXXXXXA7"


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("instanceGroupId", None, "detail.instanceGroupId"),
        ("instanceGroupId", "ig-bad id", "detail.instanceGroupId"),
        ("clusterId", "not-a-cluster", "detail.clusterId"),
    ],
)
def test_a_malformed_node_loss_notification_is_ignored_with_its_reason(field: str, value: object, why: str) -> None:
    # GIVEN a group notification missing its group, or naming a malformed one
    event = load_event("instance_group_status_notification.json")
    if value is None:
        del event["detail"][field]
    else:
        event["detail"][field] = value
    # WHEN routed, THEN it is ignored, the reason naming the field
    result = parse_scaler_trigger(event, PREFIX)
    assert isinstance(result, Ignored)
    assert "malformed EMR Instance Group Status Notification event" in result.reason
    assert why in result.reason


@pytest.mark.parametrize(
    ("sample", "short_of"),
    [
        ("instance_group_provisioning_insufficient_capacity.json", "ig-3QXXXXXXXXT2B"),
        ("instance_fleet_provisioning_insufficient_capacity.json", "if-1BXXXXXXXXQ7C"),
        ("instance_fleet_resize_spot_timeout.json", "if-2BXXXXXXXXXA7"),
        ("instance_fleet_state_change.json", None),
        ("instance_group_state_change.json", None),
    ],
)
def test_emr_saying_capacity_is_short_names_the_group_or_fleet_short_of_it(sample: str, short_of: str | None) -> None:
    trigger = parse_scaler_trigger(load_event(sample), "emr-autoscaler-")
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.short_of == short_of


def test_a_capacity_event_whose_code_is_not_a_shortage_names_nothing_short() -> None:
    event = copy.deepcopy(load_event("instance_group_provisioning_insufficient_capacity.json"))
    event["detail"]["eventCode"] = "EC2 provisioning - Capacity restored"
    trigger = parse_scaler_trigger(event, "emr-autoscaler-")
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.short_of is None
