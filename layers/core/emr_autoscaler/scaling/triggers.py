"""Scale triggers: the events that make the scaler evaluate, as a (source, detail-type) table.

The every-minute schedule evaluates every registered cluster; an alarm of the cluster watch going to ALARM, an
instance group or fleet changing state, or EMR saying a resize is short of capacity (a fleet's provisioning
timeout, insufficient EC2 capacity for a group or fleet) evaluates that cluster now: the evaluation reads the
capacity afresh and decides (the Spot fallback included), so an event never carries a decision itself.
Parsing lives in `emr_autoscaler.eventbridge`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict

from emr_autoscaler.eventbridge import (
    AlarmStateChangeDetail,
    DetailType,
    Envelope,
    Ignored,
    InstanceFleetProvisioningDetail,
    InstanceFleetResizeDetail,
    InstanceFleetStateChangeDetail,
    InstanceGroupProvisioningDetail,
    InstanceGroupStateChangeDetail,
    Routes,
    ScheduledEventDetail,
    Source,
    SpotInterruptionWarningDetail,
    is_cluster_id,
    route,
)


class ScheduledTick(BaseModel):
    """ScheduledTick: evaluate every registered cluster (the every-minute backstop)."""

    model_config = ConfigDict(frozen=True)
    event_id: str


class ClusterTrigger(BaseModel):
    """ClusterTrigger: evaluate one cluster now (an alarm fired, or one of its instance groups changed state)."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    cluster_id: str
    cause: str


class SpotInterruption(BaseModel):
    """SpotInterruption: EC2 reclaims this Spot instance in two minutes; its cluster is found through ListInstances."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    ec2_instance_id: str


Trigger = ScheduledTick | ClusterTrigger | SpotInterruption | Ignored


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
    return ClusterTrigger(event_id=event.id, cluster_id=detail.cluster_id, cause=cause)


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
        (Source.EC2, DetailType.SPOT_INTERRUPTION_WARNING): _spot_interruption,
    }


def parse_scaler_trigger(event: Any, alarm_prefix: str) -> Trigger:
    """Parse_scaler_trigger maps an EventBridge event to a trigger; unknown or malformed events are ignored."""
    return route(event, scaler_routes(alarm_prefix))
