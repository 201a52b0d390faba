"""Trigger parsing: EventBridge events into what the scaler should evaluate.

A registry keyed by (source, detail-type) parses each known event with a pydantic model of its real shape;
anything else becomes an explicit `IgnoredEvent` with a reason, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

# \Z, not $: `$` also matches before a trailing newline, which would let "j-ABC\n" through.
_CLUSTER_ID = re.compile(r"^j-[A-Z0-9]{1,64}\Z")


class ScheduledTick(BaseModel):
    """ScheduledTick: evaluate every registered cluster (the every-minute backstop)."""

    model_config = ConfigDict(frozen=True)
    event_id: str


class ClusterTrigger(BaseModel):
    """ClusterTrigger: evaluate one cluster now (an alarm fired, or one of its groups changed state)."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    cluster_id: str
    cause: str


class IgnoredEvent(BaseModel):
    """IgnoredEvent: an event the scaler does not handle, with the reason it was ignored."""

    model_config = ConfigDict(frozen=True)
    reason: str


Trigger = ScheduledTick | ClusterTrigger | IgnoredEvent


class _Envelope(BaseModel):
    """The EventBridge envelope fields the scaler reads (other fields are allowed and ignored)."""

    id: str
    source: str
    detail_type: str
    detail: dict[str, Any]

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> _Envelope:
        return cls.model_validate(
            {
                "id": event.get("id"),
                "source": event.get("source"),
                "detail_type": event.get("detail-type"),
                "detail": event.get("detail") if event.get("detail") is not None else {},
            }
        )


class _AlarmState(BaseModel):
    value: str


class _AlarmDetail(BaseModel):
    alarmName: str  # noqa: N815 - EventBridge's field name
    state: _AlarmState
    configuration: dict[str, Any] = {}


class _GroupDetail(BaseModel):
    clusterId: str  # noqa: N815 - EventBridge's field name
    state: str | None = None


def _scheduled(envelope: _Envelope, _alarm_prefix: str) -> Trigger:
    return ScheduledTick(event_id=envelope.id)


def _cluster_from_alarm(detail: _AlarmDetail, alarm_prefix: str) -> str | None:
    for metric in detail.configuration.get("metrics", []) or []:
        dimensions = (((metric or {}).get("metricStat") or {}).get("metric") or {}).get("dimensions") or {}
        job_flow = dimensions.get("JobFlowId") if isinstance(dimensions, dict) else None
        if isinstance(job_flow, str) and _CLUSTER_ID.match(job_flow):
            return job_flow
    rest = detail.alarmName[len(alarm_prefix) :]
    candidate = rest.split("-", 2)
    if len(candidate) >= 2 and _CLUSTER_ID.match(f"{candidate[0]}-{candidate[1]}"):
        return f"{candidate[0]}-{candidate[1]}"
    return None


def _alarm(envelope: _Envelope, alarm_prefix: str) -> Trigger:
    detail = _AlarmDetail.model_validate(envelope.detail)
    if not detail.alarmName.startswith(alarm_prefix):
        return IgnoredEvent(reason=f"alarm {detail.alarmName!r} does not start with {alarm_prefix!r}")
    if detail.state.value != "ALARM":
        return IgnoredEvent(reason=f"alarm {detail.alarmName!r} went to {detail.state.value}, not ALARM")
    cluster_id = _cluster_from_alarm(detail, alarm_prefix)
    if cluster_id is None:
        return IgnoredEvent(reason=f"alarm {detail.alarmName!r} names no EMR cluster")
    return ClusterTrigger(event_id=envelope.id, cluster_id=cluster_id, cause=f"alarm {detail.alarmName}")


def _instance_group(envelope: _Envelope, _alarm_prefix: str) -> Trigger:
    detail = _GroupDetail.model_validate(envelope.detail)
    if not _CLUSTER_ID.match(detail.clusterId):
        return IgnoredEvent(reason=f"malformed cluster id {detail.clusterId[:64]!r}")
    return ClusterTrigger(
        event_id=envelope.id, cluster_id=detail.clusterId, cause=f"instance group state {detail.state or '?'}"
    )


_PARSERS: dict[tuple[str, str], Callable[[_Envelope, str], Trigger]] = {
    ("aws.events", "Scheduled Event"): _scheduled,
    ("aws.cloudwatch", "CloudWatch Alarm State Change"): _alarm,
    ("aws.emr", "EMR Instance Group State Change"): _instance_group,
}


def parse_scaler_trigger(event: Any, alarm_prefix: str) -> Trigger:
    """Parse_scaler_trigger maps an EventBridge event to a trigger; unknown or malformed events are ignored."""
    if not isinstance(event, Mapping):
        return IgnoredEvent(reason=f"event is a {type(event).__name__}, not a JSON object")
    try:
        envelope = _Envelope.parse(event)
    except ValidationError as error:
        return IgnoredEvent(reason=f"not an EventBridge event: {_first_error(error)}")
    parser = _PARSERS.get((envelope.source, envelope.detail_type))
    if parser is None:
        return IgnoredEvent(reason=f"no handler for source {envelope.source[:64]!r} / {envelope.detail_type[:64]!r}")
    try:
        return parser(envelope, alarm_prefix)
    except ValidationError as error:
        return IgnoredEvent(reason=f"malformed {envelope.detail_type} event: {_first_error(error)}")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'event'}: {first['msg']}"


class ClusterStateChange(BaseModel):
    """ClusterStateChange: an EMR cluster changed state (register, watch or unregister it)."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    cluster_id: str
    state: str
    name: str | None = None


class WatchTick(BaseModel):
    """WatchTick: the cluster watch's schedule; `full_sync` also lists every cluster in the account."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    full_sync: bool


WatchTrigger = ClusterStateChange | WatchTick | IgnoredEvent

# The full ListClusters sync runs on the ticks whose minute falls in the first 5 minutes of each quarter hour:
# with a 5-minute schedule, one tick in three.
FULL_SYNC_EVERY_MIN = 15


class _ClusterDetail(BaseModel):
    clusterId: str  # noqa: N815 - EventBridge's field name
    state: str
    name: str | None = None


def _watch_tick(event: Mapping[str, Any], envelope: _Envelope) -> WatchTrigger:
    raw_time = event.get("time")
    minute = None
    if isinstance(raw_time, str) and len(raw_time) >= 16 and raw_time[14:16].isdigit():
        minute = int(raw_time[14:16])
    # Without a readable time, sync fully: it is the repair path and costs only API calls.
    return WatchTick(event_id=envelope.id, full_sync=minute is None or minute % FULL_SYNC_EVERY_MIN < 5)


def parse_watch_trigger(event: Any) -> WatchTrigger:
    """Parse_watch_trigger maps the cluster watch's events; unknown or malformed ones are ignored with a reason."""
    if not isinstance(event, Mapping):
        return IgnoredEvent(reason=f"event is a {type(event).__name__}, not a JSON object")
    try:
        envelope = _Envelope.parse(event)
    except ValidationError as error:
        return IgnoredEvent(reason=f"not an EventBridge event: {_first_error(error)}")
    key = (envelope.source, envelope.detail_type)
    if key == ("aws.events", "Scheduled Event"):
        return _watch_tick(event, envelope)
    if key != ("aws.emr", "EMR Cluster State Change"):
        return IgnoredEvent(reason=f"no handler for source {envelope.source[:64]!r} / {envelope.detail_type[:64]!r}")
    try:
        detail = _ClusterDetail.model_validate(envelope.detail)
    except ValidationError as error:
        return IgnoredEvent(reason=f"malformed EMR Cluster State Change event: {_first_error(error)}")
    if not _CLUSTER_ID.match(detail.clusterId):
        return IgnoredEvent(reason=f"malformed cluster id {detail.clusterId[:64]!r}")
    return ClusterStateChange(event_id=envelope.id, cluster_id=detail.clusterId, state=detail.state, name=detail.name)
