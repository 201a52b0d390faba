"""Notice parsing: EventBridge events into notices, through a registry keyed by (source, detail-type).

Each known event is read with a pydantic model of its real shape and handed to the pure builder of its type
(`domain.notice`); anything else, or a known event that is not worth a notice, becomes an explicit
`IgnoredNotice` with the reason, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emr_autoscaler.kernel.events import APP_EVENT_SOURCE, AppDetailType, AppEvent
from emr_autoscaler.notifications.domain.notice import (
    Notice,
    app_notice,
    app_notice_kind,
    cluster_terminated_notice,
    health_alarm_notice,
    step_failed_notice,
)

# \Z, not $: `$` also matches before a trailing newline, which would let "j-ABC\n" through.
_CLUSTER_ID = re.compile(r"^j-[A-Z0-9]{1,64}\Z")
_STEP_ID = re.compile(r"^s-[A-Z0-9]{1,64}\Z")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d\Z")


class IgnoredNotice(BaseModel):
    """IgnoredNotice: an event that gives no notice, with the reason."""

    model_config = ConfigDict(frozen=True)
    reason: str


class _Envelope(BaseModel):
    """The EventBridge envelope fields the notifier reads (others are allowed and ignored)."""

    id: str = Field(min_length=1, max_length=128)
    source: str
    detail_type: str
    time: datetime
    region: str
    detail: Any

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> _Envelope:
        return cls.model_validate(
            {
                "id": event.get("id"),
                "source": event.get("source"),
                "detail_type": event.get("detail-type"),
                "time": event.get("time"),
                "region": event.get("region"),
                "detail": event.get("detail") if event.get("detail") is not None else {},
            }
        )


class _StateChangeReason(BaseModel):
    code: str | None = None
    message: str | None = None


class _ClusterStateDetail(BaseModel):
    """`EMR Cluster State Change` detail; `stateChangeReason` is a JSON document in a string."""

    clusterId: str  # noqa: N815 - EventBridge's field name
    state: str
    name: str | None = None
    stateChangeReason: str | dict[str, Any] | None = None  # noqa: N815

    def reason(self) -> _StateChangeReason:
        raw = self.stateChangeReason
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError:
                # Not the documented JSON: keep the text as the message rather than lose it.
                return _StateChangeReason(message=raw)
        return _StateChangeReason.model_validate(raw or {})


class _StepStatusDetail(BaseModel):
    """`EMR Step Status Change` detail."""

    clusterId: str  # noqa: N815
    stepId: str  # noqa: N815
    state: str
    name: str | None = None
    actionOnFailure: str | None = None  # noqa: N815


def _cluster_state(envelope: _Envelope) -> Notice | IgnoredNotice:
    detail = _ClusterStateDetail.model_validate(envelope.detail)
    if not _CLUSTER_ID.match(detail.clusterId):
        return IgnoredNotice(reason=f"malformed cluster id {detail.clusterId[:64]!r}")
    reason = detail.reason()
    notice = cluster_terminated_notice(
        event_id=envelope.id,
        region=envelope.region,
        occurred_at=envelope.time,
        cluster_id=detail.clusterId,
        cluster_name=detail.name,
        state=detail.state,
        reason_code=reason.code,
        reason_message=reason.message,
    )
    if notice is None:
        return IgnoredNotice(
            reason=f"cluster {detail.clusterId} went to {detail.state[:32]} "
            f"({(reason.code or 'no reason')[:64]}): not a failure"
        )
    return notice


def _step_status(envelope: _Envelope) -> Notice | IgnoredNotice:
    detail = _StepStatusDetail.model_validate(envelope.detail)
    if not (_CLUSTER_ID.match(detail.clusterId) and _STEP_ID.match(detail.stepId)):
        return IgnoredNotice(reason=f"malformed cluster or step id {detail.clusterId[:64]!r}/{detail.stepId[:64]!r}")
    if detail.state != "FAILED":
        return IgnoredNotice(reason=f"step {detail.stepId} went to {detail.state[:32]}, not FAILED")
    return step_failed_notice(
        event_id=envelope.id,
        region=envelope.region,
        occurred_at=envelope.time,
        cluster_id=detail.clusterId,
        step_id=detail.stepId,
        step_name=detail.name,
        action_on_failure=detail.actionOnFailure,
    )


class _AlarmState(BaseModel):
    value: str
    reason: str | None = None


class _AlarmDetail(BaseModel):
    """`CloudWatch Alarm State Change` detail (the stack's health alarms reach the notifier through its rule)."""

    alarmName: str = Field(max_length=255)  # noqa: N815
    state: _AlarmState


def _health_alarm(envelope: _Envelope) -> Notice | IgnoredNotice:
    detail = _AlarmDetail.model_validate(envelope.detail)
    notice = health_alarm_notice(
        event_id=envelope.id,
        region=envelope.region,
        occurred_at=envelope.time,
        alarm_name=detail.alarmName,
        state=detail.state.value,
        reason=detail.state.reason,
    )
    if notice is None:
        return IgnoredNotice(
            reason=f"alarm {detail.alarmName[:64]!r} went to {detail.state.value[:32]}: not a health alarm firing"
        )
    return notice


def _nodes_delta(data: dict[str, Any]) -> int:
    """The total node change of a scaling decision's commands (0 when absent or malformed)."""
    delta = 0
    for command in data.get("commands") or []:
        if isinstance(command, dict):
            to_count, from_count = command.get("to_count"), command.get("from_count")
            if isinstance(to_count, int) and isinstance(from_count, int):
                delta += to_count - from_count
    return delta


def _app_event(envelope: _Envelope) -> Notice | IgnoredNotice:
    event = AppEvent.from_eventbridge({"detail-type": envelope.detail_type, "detail": envelope.detail})
    detail = event.detail
    kind = app_notice_kind(event.detail_type.value, detail.reason_code, detail.severity, _nodes_delta(detail.data))
    if kind is None:
        return IgnoredNotice(reason=f"application event {envelope.detail_type!r} gives no notice")
    if detail.cluster_id is not None and not _CLUSTER_ID.match(detail.cluster_id):
        return IgnoredNotice(reason=f"malformed cluster id {detail.cluster_id[:64]!r}")
    return app_notice(
        kind=kind,
        severity=detail.severity,
        event_id=envelope.id,
        region=envelope.region,
        occurred_at=envelope.time,
        reason_code=detail.reason_code,
        explanation=detail.explanation,
        cluster_id=detail.cluster_id,
        cluster_name=detail.cluster_name,
        step_id=detail.step_id,
        step_name=detail.step_name,
        state=detail.state,
        log_location=detail.log_location,
        action=detail.action,
        attempt=detail.attempt,
        max_attempts=detail.max_attempts,
    )


_PARSERS: dict[tuple[str, str], Callable[[_Envelope], Notice | IgnoredNotice]] = {
    ("aws.emr", "EMR Cluster State Change"): _cluster_state,
    ("aws.emr", "EMR Step Status Change"): _step_status,
    ("aws.cloudwatch", "CloudWatch Alarm State Change"): _health_alarm,
    **{(APP_EVENT_SOURCE, detail_type.value): _app_event for detail_type in AppDetailType},
}


def parse_notice_event(event: Any) -> Notice | IgnoredNotice:
    """Parse_notice_event maps an EventBridge event to a notice; unknown, malformed or benign ones are ignored."""
    if not isinstance(event, Mapping):
        return IgnoredNotice(reason=f"event is a {type(event).__name__}, not a JSON object")
    try:
        envelope = _Envelope.parse(event)
    except ValidationError as error:
        return IgnoredNotice(reason=f"not an EventBridge event: {_first_error(error)}")
    if not _REGION.match(envelope.region):
        return IgnoredNotice(reason=f"malformed region {envelope.region[:32]!r}")
    parser = _PARSERS.get((envelope.source, envelope.detail_type))
    if parser is None:
        return IgnoredNotice(reason=f"no notice for source {envelope.source[:64]!r} / {envelope.detail_type[:64]!r}")
    try:
        return parser(envelope)
    except (ValidationError, ValueError) as error:
        brief = _first_error(error) if isinstance(error, ValidationError) else str(error)[:200]
        return IgnoredNotice(reason=f"malformed {envelope.detail_type} event: {brief}")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'event'}: {first['msg']}"
