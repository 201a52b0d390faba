"""Scale triggers: the events that make the scaler evaluate, as a (source, detail-type) table, and the queue's
message (one evaluation of one cluster).

The every-minute schedule asks for every registered cluster; an alarm of the cluster watch going to ALARM, an
instance group or fleet changing state, or EMR saying a resize is short of capacity (a fleet's provisioning
timeout, insufficient EC2 capacity for a group or fleet) asks for that cluster now: the evaluation reads the
capacity afresh and decides (the Spot fallback included), so an event never carries a decision itself. EC2's Spot
interruption warning names an instance: the cluster running it is found first. Each ask becomes one
`EvaluationRequest` on the SQS FIFO evaluation queue, in the cluster's message group, which the same function
consumes as an `EvaluationBatch`. Parsing of EventBridge events lives in `emr_autoscaler.eventbridge`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from emr_autoscaler.eventbridge import (
    AlarmStateChangeDetail,
    DetailType,
    Envelope,
    Ignored,
    InstanceFleetProvisioningDetail,
    InstanceFleetResizeDetail,
    InstanceFleetStateChangeDetail,
    InstanceFleetStatusNotificationDetail,
    InstanceGroupProvisioningDetail,
    InstanceGroupStateChangeDetail,
    InstanceGroupStatusNotificationDetail,
    Routes,
    ScheduledEventDetail,
    Source,
    SpotInterruptionWarningDetail,
    is_cluster_id,
    route,
)
from emr_autoscaler.scaling.domain.shortage import says_short


class ScheduledTick(BaseModel):
    """ScheduledTick: evaluate every registered cluster (the every-minute backstop)."""

    model_config = ConfigDict(frozen=True)
    event_id: str


class ClusterTrigger(BaseModel):
    """ClusterTrigger: evaluate one cluster now (an alarm fired, or one of its instance groups changed state).

    `short_of`: the group or fleet EMR says is short of EC2 capacity (its Spot fallback need not wait the timeout).
    """

    model_config = ConfigDict(frozen=True)
    event_id: str
    cluster_id: str
    cause: str
    short_of: str | None = None


class SpotInterruption(BaseModel):
    """SpotInterruption: EC2 reclaims this Spot instance in two minutes; its cluster is found through ListInstances."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    ec2_instance_id: str


class NodeLoss(BaseModel):
    """NodeLoss: EMR says nodes of this group or fleet were lost (a Spot instance reclaimed, a node replaced); the
    instances it lost are looked up with ListInstances and go the way of EC2's warning (counted once per instance)."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    cluster_id: str
    owner_id: str
    cause: str


class EvaluationBatch(BaseModel):
    """EvaluationBatch: the evaluation queue's records, as Lambda's SQS event source mapping delivers them."""

    model_config = ConfigDict(frozen=True)
    event: dict[str, Any]


Trigger = ScheduledTick | ClusterTrigger | SpotInterruption | NodeLoss | EvaluationBatch | Ignored

# The evaluation queue's message: what one evaluation needs to start, nothing it must read fresh.
MAX_CAUSE_CHARS = 200
TICK_CAUSE = "schedule"


class MalformedEvaluationError(ValueError):
    """MalformedEvaluationError: a queue message is not an evaluation request (the message says why)."""


class EvaluationRequest(BaseModel):
    """EvaluationRequest asks for one evaluation of `cluster_id`, for `cause`, enqueued at `enqueued_at` (UTC).

    The cluster id is the message group, so requests for one cluster are evaluated one after the other.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    cluster_id: str
    cause: str = Field(max_length=MAX_CAUSE_CHARS)
    event_id: str = Field(min_length=1, max_length=128)
    enqueued_at: AwareDatetime
    # Set for EC2's Spot interruption warning: the evaluation plans the replacement of this instance.
    ec2_instance_id: str | None = Field(default=None, max_length=32)
    # Set for EMR's node-loss notification: the group or fleet whose lost instances the evaluation counts.
    lost_from: str | None = Field(default=None, max_length=68)
    # Set for EMR's insufficient-capacity event: the group or fleet short of capacity (see domain/shortage.py).
    short_of: str | None = Field(default=None, max_length=68)

    @field_validator("cluster_id")
    @classmethod
    def _cluster_id(cls, value: str) -> str:
        if not is_cluster_id(value):
            raise ValueError("not an EMR cluster id (j-…)")
        return value

    @property
    def deduplication_id(self) -> str:
        """Deduplication_id: one per cluster and minute for the tick, one per cluster and event otherwise.

        SQS FIFO drops a message whose deduplication id it saw in the last 5 minutes, even after the first was
        deleted (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html),
        so a tick or an event delivered twice is evaluated once.
        """
        if self.cause == TICK_CAUSE:
            return f"{self.cluster_id}:tick:{self.enqueued_at:%Y%m%d%H%M}"
        return f"{self.cluster_id}:event:{self.event_id}"


def parse_evaluation_request(body: str) -> EvaluationRequest:
    """Parse_evaluation_request reads one queue message body; raises MalformedEvaluationError naming the problem."""
    try:
        return EvaluationRequest.model_validate(json.loads(body))
    except (ValueError, TypeError) as error:
        if isinstance(error, ValidationError):
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        else:
            problems = f"not JSON ({type(error).__name__})"
        raise MalformedEvaluationError(f"not an evaluation request: {problems[:300]}") from None


def evaluation_request(
    cluster_id: str,
    cause: str,
    event_id: str,
    now: datetime,
    ec2_instance_id: str | None = None,
    lost_from: str | None = None,
    short_of: str | None = None,
) -> EvaluationRequest:
    """Evaluation_request builds the message for one cluster (the cause is cut to MAX_CAUSE_CHARS)."""
    return EvaluationRequest(
        cluster_id=cluster_id,
        cause=cause[:MAX_CAUSE_CHARS],
        event_id=event_id[:128],
        enqueued_at=now,
        ec2_instance_id=ec2_instance_id,
        lost_from=lost_from,
        short_of=short_of,
    )


def _scheduled(event: Envelope, _detail: ScheduledEventDetail) -> Trigger:
    return ScheduledTick(event_id=event.id)


def _cluster_from_alarm(detail: AlarmStateChangeDetail, alarm_prefix: str) -> str | None:
    """The cluster an alarm watches: its metric's JobFlowId dimension, else the id its name carries."""
    metrics = detail.configuration.get("metrics")
    for metric in metrics if isinstance(metrics, list) else []:
        stat = metric.get("metricStat") if isinstance(metric, dict) else None
        watched = stat.get("metric") if isinstance(stat, dict) else None
        dimensions = watched.get("dimensions") if isinstance(watched, dict) else None
        job_flow = dimensions.get("JobFlowId") if isinstance(dimensions, dict) else None
        if isinstance(job_flow, str) and is_cluster_id(job_flow):
            return job_flow
    # The cluster watch names its alarms <prefix><cluster id>-<metric>.
    parts = detail.alarm_name[len(alarm_prefix) :].split("-", 2)
    candidate = "-".join(parts[:2])
    return candidate if len(parts) >= 2 and is_cluster_id(candidate) else None


def _alarm(event: Envelope, detail: AlarmStateChangeDetail, alarm_prefix: str) -> Trigger:
    name = detail.alarm_name
    if not name.startswith(alarm_prefix):
        return Ignored(reason=f"alarm {name!r} does not start with {alarm_prefix!r}")
    if detail.state.value != "ALARM":
        return Ignored(reason=f"alarm {name!r} went to {detail.state.value[:32]}, not ALARM")
    cluster_id = _cluster_from_alarm(detail, alarm_prefix)
    if cluster_id is None:
        return Ignored(reason=f"alarm {name!r} names no EMR cluster")
    return ClusterTrigger(event_id=event.id, cluster_id=cluster_id, cause=f"alarm {name}")


def _instance_group(event: Envelope, detail: InstanceGroupStateChangeDetail) -> Trigger:
    cause = f"instance group state {(detail.state or '?')[:32]}"
    return ClusterTrigger(event_id=event.id, cluster_id=detail.cluster_id, cause=cause)


def _instance_fleet(event: Envelope, detail: InstanceFleetStateChangeDetail) -> Trigger:
    cause = f"instance fleet state {(detail.state or '?')[:32]}"
    return ClusterTrigger(event_id=event.id, cluster_id=detail.cluster_id, cause=cause)


def _capacity_event(
    event: Envelope,
    detail: InstanceFleetResizeDetail | InstanceFleetProvisioningDetail | InstanceGroupProvisioningDetail,
) -> Trigger:
    # "Spot Provisioning timeout", "Spot provisioning timeout - continuing resize", "EC2 provisioning - Insufficient
    # Instance Capacity", ...: whatever the code, the cluster's capacity moved or stalled, so it is read now.
    cause = f"{event.detail_type[:48]}: {detail.event_code[:64]}"
    owner = (
        detail.instance_group_id if isinstance(detail, InstanceGroupProvisioningDetail) else detail.instance_fleet_id
    )
    short_of = owner if owner and says_short(detail.event_code) else None
    return ClusterTrigger(event_id=event.id, cluster_id=detail.cluster_id, cause=cause, short_of=short_of)


def _node_loss(
    event: Envelope, detail: InstanceGroupStatusNotificationDetail | InstanceFleetStatusNotificationDetail
) -> Trigger:
    owner = (
        detail.instance_group_id
        if isinstance(detail, InstanceGroupStatusNotificationDetail)
        else detail.instance_fleet_id
    )
    cause = f"{event.detail_type[:48]} for {owner}" + (f": {detail.event_code[:64]}" if detail.event_code else "")
    return NodeLoss(event_id=event.id, cluster_id=detail.cluster_id, owner_id=owner, cause=cause)


def _spot_interruption(event: Envelope, detail: SpotInterruptionWarningDetail) -> Trigger:
    return SpotInterruption(event_id=event.id, ec2_instance_id=detail.instance_id)


def scaler_routes(alarm_prefix: str) -> Routes[Trigger]:
    """Scaler_routes is the scaler's table; alarms count only when named `<alarm_prefix><cluster id>-...`."""
    return {
        (Source.SCHEDULE, DetailType.SCHEDULED_EVENT): _scheduled,
        (Source.CLOUDWATCH, DetailType.ALARM_STATE_CHANGE): partial(_alarm, alarm_prefix=alarm_prefix),
        (Source.EMR, DetailType.INSTANCE_GROUP_STATE_CHANGE): _instance_group,
        (Source.EMR, DetailType.INSTANCE_FLEET_STATE_CHANGE): _instance_fleet,
        (Source.EMR, DetailType.INSTANCE_FLEET_RESIZE): _capacity_event,
        (Source.EMR, DetailType.INSTANCE_FLEET_PROVISIONING): _capacity_event,
        (Source.EMR, DetailType.INSTANCE_GROUP_PROVISIONING): _capacity_event,
        (Source.EMR, DetailType.INSTANCE_GROUP_STATUS_NOTIFICATION): _node_loss,
        (Source.EMR, DetailType.INSTANCE_FLEET_STATUS_NOTIFICATION): _node_loss,
        (Source.EC2, DetailType.SPOT_INTERRUPTION_WARNING): _spot_interruption,
    }


def parse_scaler_trigger(event: Any, alarm_prefix: str) -> Trigger:
    """Parse_scaler_trigger maps an EventBridge event to a trigger, and an SQS event (the evaluation queue's records)
    to an EvaluationBatch; unknown or malformed events are ignored."""
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list):
        return EvaluationBatch(event=dict(event))
    return route(event, scaler_routes(alarm_prefix))
