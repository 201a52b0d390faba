"""EventBridge: the one place every job's events are parsed.

The envelope has exactly the fields of Powertools Parser's `EventBridgeModel` (a test holds the two to the same
verdicts on every sample); it is not imported from there because `aws_lambda_powertools.utilities.parser.models`
loads all ~30 of Powertools' AWS event models on import, ~110 ms of every cold start (0.4x `import boto3`) for one
model. Each event's `detail` has one model here, shaped after AWS's
documentation: it requires what a job reads and ignores keys it does not name, because AWS adds fields to its
events. A job declares only its `(source, detail-type) -> mapper` table; `route` validates the event, parses its
detail and hands both to the mapper. Anything unknown or malformed becomes `Ignored` with a reason naming the
field, never an exception.

Where AWS documents these events:
- the detail-types: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-emr.html
- states, severities and event codes:
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-manage-cloudwatch-events.html
- the fleet resize `eventCode`/`instanceFleetType`:
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-timeout-events.html
- the provisioning `eventCode`/`instanceGroupType`:
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-insuff-capacity.html
- the fleet state change fields (EventBridge's schema registry, as CDK publishes it):
  https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.mixins_preview.aws_emr.events/EMRInstanceFleetStateChange.html
- alarm state changes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
- the node-loss notifications (`EMR Instance Group Status Notification`, `EMR Instance Fleet Status Notification`,
  listed in the EventBridge reference above): what is read of them is the cluster and the group or fleet; their
  `message` is for people, so the lost instances are looked up with ListInstances (TERMINATED)
- EC2's Spot interruption warning (`instance-id`, `instance-action`):
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from emr_autoscaler.kernel.events import APP_EVENT_SOURCE, AppDetailType, AppEventDetail
from emr_autoscaler.kernel.ids import CLUSTER_ID, STEP_ID

# Reasons are logged and returned in the invocation's summary: hostile input must not make them unbounded.
MAX_REASON_CHARS = 500


def is_cluster_id(value: str) -> bool:
    """Is_cluster_id is true for an EMR cluster id (`j-` and up to 64 upper-case letters or digits)."""
    # fullmatch, not match with `$`: `$` also matches before a trailing newline, and "j-ABC\n" is not a cluster id.
    return CLUSTER_ID.fullmatch(value) is not None


def _id_of(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise PydanticCustomError(
                "malformed_id", "malformed {what} {value}", {"what": what, "value": repr(value[:64])}
            )
        return value

    return AfterValidator(check)


ClusterId = Annotated[str, _id_of(CLUSTER_ID, "cluster id")]
StepId = Annotated[str, _id_of(STEP_ID, "step id")]


class Source(StrEnum):
    """Source is the EventBridge `source` of each event a job handles."""

    EMR = "aws.emr"
    CLOUDWATCH = "aws.cloudwatch"
    EC2 = "aws.ec2"
    SCHEDULE = "aws.events"
    APP = APP_EVENT_SOURCE


class DetailType(StrEnum):
    """DetailType is the EventBridge `detail-type` of each AWS event modelled here (the app's are AppDetailType)."""

    CLUSTER_STATE_CHANGE = "EMR Cluster State Change"
    STEP_STATUS_CHANGE = "EMR Step Status Change"
    INSTANCE_GROUP_STATE_CHANGE = "EMR Instance Group State Change"
    INSTANCE_FLEET_STATE_CHANGE = "EMR Instance Fleet State Change"
    INSTANCE_GROUP_RESIZE = "EMR Instance Group Resize"
    INSTANCE_FLEET_RESIZE = "EMR Instance Fleet Resize"
    INSTANCE_GROUP_PROVISIONING = "EMR Instance Group Provisioning"
    INSTANCE_FLEET_PROVISIONING = "EMR Instance Fleet Provisioning"
    INSTANCE_GROUP_STATUS_NOTIFICATION = "EMR Instance Group Status Notification"
    INSTANCE_FLEET_STATUS_NOTIFICATION = "EMR Instance Fleet Status Notification"
    MANAGED_SCALING_ACTION = "EMR Managed Scaling Action"
    ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
    SCHEDULED_EVENT = "Scheduled Event"
    SPOT_INTERRUPTION_WARNING = "EC2 Spot Instance Interruption Warning"


class Envelope(BaseModel):
    """Envelope is an EventBridge event: Powertools' `EventBridgeModel` fields, narrowed to what EventBridge delivers.

    `id` is bounded because jobs key state and dedup on it; `detail` is a JSON object, parsed afterwards with the
    event's detail model. EventBridge Scheduler sends an empty detail as the string "{}" (Powertools issue #6112).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    version: str
    id: str = Field(min_length=1, max_length=128)
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]
    replay_name: str | None = Field(default=None, alias="replay-name")

    @field_validator("detail", mode="before")
    @classmethod
    def _scheduler_empty_detail(cls, value: Any, info: ValidationInfo) -> Any:
        return {} if info.data.get("source") == "aws.scheduler" and value == "{}" else value


class Detail(BaseModel):
    """Detail is the base of every AWS event's `detail`: frozen, and keys it does not name are ignored.

    Each model is built on its first use (`defer_build`): a function builds the models of its own events only.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class EmrDetail(Detail):
    """EmrDetail holds what every EMR event carries. `message` is for people: AWS asks that it not be parsed."""

    cluster_id: ClusterId = Field(alias="clusterId")
    severity: str | None = None
    message: str | None = None


class StateChangeReason(BaseModel):
    """StateChangeReason is a cluster's `stateChangeReason` (code such as USER_REQUEST, and a message)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str | None = None
    message: str | None = None


class ClusterStateChangeDetail(EmrDetail):
    """ClusterStateChangeDetail is `EMR Cluster State Change`; `stateChangeReason` is a JSON document in a string."""

    state: str
    name: str | None = None
    state_change_reason: str | dict[str, Any] | None = Field(default=None, alias="stateChangeReason")

    def reason(self) -> StateChangeReason:
        """Reason reads the structured state change reason (empty when absent)."""
        raw = self.state_change_reason
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError:
                # Not the documented JSON: keep the text as the message rather than lose it.
                return StateChangeReason(message=raw)
        return StateChangeReason.model_validate(raw or {})


class StepStatusChangeDetail(EmrDetail):
    """StepStatusChangeDetail is `EMR Step Status Change` (PENDING, RUNNING, COMPLETED, CANCELLED, FAILED...)."""

    step_id: StepId = Field(alias="stepId")
    state: str
    name: str | None = None
    action_on_failure: str | None = Field(default=None, alias="actionOnFailure")


class _GroupDetail(EmrDetail):
    instance_group_id: str | None = Field(default=None, alias="instanceGroupId")
    instance_group_type: str | None = Field(default=None, alias="instanceGroupType")


class _FleetDetail(EmrDetail):
    instance_fleet_id: str | None = Field(default=None, alias="instanceFleetId")
    instance_fleet_type: str | None = Field(default=None, alias="instanceFleetType")


class InstanceGroupStateChangeDetail(_GroupDetail):
    """InstanceGroupStateChangeDetail is `EMR Instance Group State Change` (RESIZING, RUNNING, ARRESTED...)."""

    state: str | None = None


class InstanceFleetStateChangeDetail(_FleetDetail):
    """InstanceFleetStateChangeDetail is `EMR Instance Fleet State Change`; capacities are in units, not nodes."""

    state: str | None = None


class InstanceGroupResizeDetail(_GroupDetail):
    """InstanceGroupResizeDetail is `EMR Instance Group Resize`: `eventCode` says what happened to the resize."""

    event_code: str = Field(alias="eventCode")


class InstanceFleetResizeDetail(_FleetDetail):
    """InstanceFleetResizeDetail is `EMR Instance Fleet Resize`, e.g. eventCode `Spot Provisioning timeout`."""

    event_code: str = Field(alias="eventCode")


class InstanceGroupProvisioningDetail(_GroupDetail):
    """InstanceGroupProvisioningDetail is `EMR Instance Group Provisioning`, e.g. insufficient EC2 capacity."""

    event_code: str = Field(alias="eventCode")


class InstanceFleetProvisioningDetail(_FleetDetail):
    """InstanceFleetProvisioningDetail is `EMR Instance Fleet Provisioning`, e.g. insufficient EC2 capacity."""

    event_code: str = Field(alias="eventCode")


class InstanceGroupStatusNotificationDetail(EmrDetail):
    """InstanceGroupStatusNotificationDetail is `EMR Instance Group Status Notification`: EMR telling of a group's
    nodes (lost, replaced, unhealthy). It must name the group: the scaler looks for the group's lost instances."""

    instance_group_id: str = Field(alias="instanceGroupId", pattern=r"^ig-[A-Z0-9]{1,64}$")
    instance_group_type: str | None = Field(default=None, alias="instanceGroupType")
    event_code: str | None = Field(default=None, alias="eventCode")


class InstanceFleetStatusNotificationDetail(EmrDetail):
    """InstanceFleetStatusNotificationDetail is `EMR Instance Fleet Status Notification`, the same for a fleet."""

    instance_fleet_id: str = Field(alias="instanceFleetId", pattern=r"^if-[A-Z0-9]{1,64}$")
    instance_fleet_type: str | None = Field(default=None, alias="instanceFleetType")
    event_code: str | None = Field(default=None, alias="eventCode")


class ManagedScalingActionDetail(EmrDetail):
    """ManagedScalingActionDetail is `EMR Managed Scaling Action`: EMR Managed Scaling resized the cluster.

    AWS lists the detail-type but documents no field beyond those of every EMR event, so nothing else is required.
    """

    event_code: str | None = Field(default=None, alias="eventCode")


class AlarmState(Detail):
    """AlarmState is an alarm's state (`ALARM`, `OK`, `INSUFFICIENT_DATA`) and CloudWatch's reason text."""

    value: str
    reason: str | None = None


class AlarmStateChangeDetail(Detail):
    """AlarmStateChangeDetail is `CloudWatch Alarm State Change`; `configuration` holds the alarm's metrics."""

    alarm_name: str = Field(alias="alarmName", max_length=255)
    state: AlarmState
    configuration: dict[str, Any] = Field(default_factory=dict)


# An EC2 instance id: `i-` and 8 or 17 lower-case hex digits.
Ec2InstanceId = Annotated[str, _id_of(re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?"), "instance id")]


class SpotInterruptionWarningDetail(Detail):
    """SpotInterruptionWarningDetail is EC2's `EC2 Spot Instance Interruption Warning`, two minutes before the
    instance is reclaimed; it names the instance, not the cluster."""

    instance_id: Ec2InstanceId = Field(alias="instance-id")
    instance_action: str = Field(alias="instance-action", max_length=32)


class ScheduledEventDetail(Detail):
    """ScheduledEventDetail is a schedule rule's `Scheduled Event`: its detail is empty, the envelope's time counts."""


# One detail model per (source, detail-type). The application's own events keep their contract's model, which
# refuses unknown keys: producer and consumer ship together.
DETAIL_MODELS: Mapping[tuple[str, str], type[BaseModel]] = {
    (Source.EMR, DetailType.CLUSTER_STATE_CHANGE): ClusterStateChangeDetail,
    (Source.EMR, DetailType.STEP_STATUS_CHANGE): StepStatusChangeDetail,
    (Source.EMR, DetailType.INSTANCE_GROUP_STATE_CHANGE): InstanceGroupStateChangeDetail,
    (Source.EMR, DetailType.INSTANCE_FLEET_STATE_CHANGE): InstanceFleetStateChangeDetail,
    (Source.EMR, DetailType.INSTANCE_GROUP_RESIZE): InstanceGroupResizeDetail,
    (Source.EMR, DetailType.INSTANCE_FLEET_RESIZE): InstanceFleetResizeDetail,
    (Source.EMR, DetailType.INSTANCE_GROUP_PROVISIONING): InstanceGroupProvisioningDetail,
    (Source.EMR, DetailType.INSTANCE_FLEET_PROVISIONING): InstanceFleetProvisioningDetail,
    (Source.EMR, DetailType.MANAGED_SCALING_ACTION): ManagedScalingActionDetail,
    (Source.EMR, DetailType.INSTANCE_GROUP_STATUS_NOTIFICATION): InstanceGroupStatusNotificationDetail,
    (Source.EMR, DetailType.INSTANCE_FLEET_STATUS_NOTIFICATION): InstanceFleetStatusNotificationDetail,
    (Source.CLOUDWATCH, DetailType.ALARM_STATE_CHANGE): AlarmStateChangeDetail,
    (Source.SCHEDULE, DetailType.SCHEDULED_EVENT): ScheduledEventDetail,
    (Source.EC2, DetailType.SPOT_INTERRUPTION_WARNING): SpotInterruptionWarningDetail,
    **{(Source.APP, detail_type.value): AppEventDetail for detail_type in AppDetailType},
}


class Ignored(BaseModel):
    """Ignored is an event a job does not act on, with the reason (bounded to MAX_REASON_CHARS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str

    @field_validator("reason")
    @classmethod
    def _bounded(cls, reason: str) -> str:
        return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 3] + "..."


# A mapper receives the envelope and the detail parsed with DETAIL_MODELS' model for the event's key.
type Routes[R] = Mapping[tuple[str, str], Callable[[Envelope, Any], R]]


class _RoutingKey(BaseModel):
    source: str
    detail_type: str = Field(alias="detail-type")


def route[R](event: object, routes: Routes[R], *, unrouted: str = "no handler") -> R | Ignored:
    """Route maps an EventBridge event through a job's table; never raises on what the event holds.

    The event's key is read first, so an event the job does not handle is ignored as such (`<unrouted> for source
    ...`) whatever else it lacks. A handled event with a malformed envelope or detail, or one its mapper refuses
    to build a result from, is ignored as `malformed <detail-type> event: <field>: <problem>`.
    """
    if not isinstance(event, Mapping):
        return Ignored(reason=f"event is a {type(event).__name__}, not a JSON object")
    try:
        key = _RoutingKey.model_validate(dict(event))
    except ValidationError as error:
        return Ignored(reason=f"not an EventBridge event: {_first_error(error)}")
    mapper, model = routes.get((key.source, key.detail_type)), DETAIL_MODELS.get((key.source, key.detail_type))
    if mapper is None or model is None:
        return Ignored(reason=f"{unrouted} for source {key.source[:64]!r} / {key.detail_type[:64]!r}")
    malformed = f"malformed {key.detail_type} event"
    try:
        envelope = Envelope.model_validate(dict(event))
    except ValidationError as error:
        return Ignored(reason=f"{malformed}: {_first_error(error)}")
    try:
        detail = model.model_validate(envelope.detail)
    except ValidationError as error:
        return Ignored(reason=f"{malformed}: {_first_error(error, 'detail')}")
    try:
        return mapper(envelope, detail)
    except ValidationError as error:
        return Ignored(reason=f"{malformed}: {_first_error(error)}")


def _first_error(error: ValidationError, within: str | None = None) -> str:
    """First_error names the first invalid field (dotted path, `within` first) and says what is wrong with it."""
    first = error.errors(include_url=False)[0]
    path = ".".join(str(part) for part in ((within,) if within else ()) + tuple(first["loc"]))
    return f"{path or 'event'}: {first['msg']}"
