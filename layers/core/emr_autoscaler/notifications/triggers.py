"""Notice triggers: EventBridge events into notices, as a (source, detail-type) table.

Each event is handed to the pure builder of its type (`domain.notice`); a known event that is not worth a notice
becomes an explicit `Ignored` with the reason. Parsing lives in `emr_autoscaler.eventbridge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from emr_autoscaler.eventbridge import (
    AlarmStateChangeDetail,
    ClusterStateChangeDetail,
    DetailType,
    Envelope,
    Ignored,
    Routes,
    Source,
    StepStatusChangeDetail,
    is_cluster_id,
    route,
)
from emr_autoscaler.kernel.events import AppDetailType, AppEventDetail
from emr_autoscaler.kernel.notices import SpotEpisode
from emr_autoscaler.notifications.domain.notice import (
    Notice,
    app_notice,
    app_notice_kind,
    cluster_terminated_notice,
    health_alarm_notice,
    step_failed_notice,
)

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")

NoticeOrIgnored = Notice | Ignored


def _in_a_region[D](mapper: Callable[[Envelope, D], NoticeOrIgnored]) -> Callable[[Envelope, D], NoticeOrIgnored]:
    """Every notice links to the EMR console of the event's region: only a region name may reach that URL."""

    def checked(event: Envelope, detail: D) -> NoticeOrIgnored:
        if not _REGION.fullmatch(event.region):
            return Ignored(reason=f"malformed region {event.region[:32]!r}")
        return mapper(event, detail)

    return checked


@_in_a_region
def _cluster_state(event: Envelope, detail: ClusterStateChangeDetail) -> NoticeOrIgnored:
    reason = detail.reason()
    notice = cluster_terminated_notice(
        event_id=event.id,
        region=event.region,
        occurred_at=event.time,
        cluster_id=detail.cluster_id,
        cluster_name=detail.name,
        state=detail.state,
        reason_code=reason.code,
        reason_message=reason.message,
    )
    if notice is None:
        return Ignored(
            reason=f"cluster {detail.cluster_id} went to {detail.state[:32]} "
            f"({(reason.code or 'no reason')[:64]}): not a failure"
        )
    return notice


@_in_a_region
def _step_status(event: Envelope, detail: StepStatusChangeDetail) -> NoticeOrIgnored:
    if detail.state != "FAILED":
        return Ignored(reason=f"step {detail.step_id} went to {detail.state[:32]}, not FAILED")
    return step_failed_notice(
        event_id=event.id,
        region=event.region,
        occurred_at=event.time,
        cluster_id=detail.cluster_id,
        step_id=detail.step_id,
        step_name=detail.name,
        action_on_failure=detail.action_on_failure,
    )


@_in_a_region
def _health_alarm(event: Envelope, detail: AlarmStateChangeDetail) -> NoticeOrIgnored:
    notice = health_alarm_notice(
        event_id=event.id,
        region=event.region,
        occurred_at=event.time,
        alarm_name=detail.alarm_name,
        state=detail.state.value,
        reason=detail.state.reason,
    )
    if notice is None:
        return Ignored(
            reason=f"alarm {detail.alarm_name[:64]!r} went to {detail.state.value[:32]}: not a health alarm firing"
        )
    return notice


def _nodes_delta(data: dict[str, Any]) -> int:
    """The total node change of a scaling decision's commands (0 when absent or malformed); for new managed scaling
    limits, the change of their maximum (the direction the cluster may now go)."""
    delta = 0
    for command in data.get("commands") or []:
        if isinstance(command, dict):
            to_count, from_count = command.get("to_count"), command.get("from_count")
            if isinstance(to_count, int) and isinstance(from_count, int):
                delta += to_count - from_count
    tuned = data.get("managed_scaling")
    if isinstance(tuned, dict):
        before, after = (
            limits.get("maximum_units") if isinstance(limits, dict) else None
            for limits in (tuned.get("from_limits"), tuned.get("to_limits"))
        )
        if isinstance(before, int) and isinstance(after, int):
            delta += after - before
    return delta


def _spot_episode(data: dict[str, Any]) -> SpotEpisode | None:
    """The Spot episode a scaling decision carries (None when absent or malformed: the notice keeps a plain title)."""
    raw = data.get("spot")
    if not isinstance(raw, dict):
        return None
    try:
        return SpotEpisode.model_validate(raw)
    except ValueError:
        return None


@_in_a_region
def _app_event(event: Envelope, detail: AppEventDetail) -> NoticeOrIgnored:
    kind = app_notice_kind(event.detail_type, detail.reason_code, detail.severity, _nodes_delta(detail.data))
    if kind is None:
        return Ignored(reason=f"application event {event.detail_type!r} gives no notice")
    if detail.cluster_id is not None and not is_cluster_id(detail.cluster_id):
        return Ignored(reason=f"malformed cluster id {detail.cluster_id[:64]!r}")
    return app_notice(
        kind=kind,
        severity=detail.severity,
        event_id=event.id,
        region=event.region,
        occurred_at=event.time,
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
        spot=_spot_episode(detail.data),
    )


NOTICE_ROUTES: Routes[NoticeOrIgnored] = {
    (Source.EMR, DetailType.CLUSTER_STATE_CHANGE): _cluster_state,
    (Source.EMR, DetailType.STEP_STATUS_CHANGE): _step_status,
    (Source.CLOUDWATCH, DetailType.ALARM_STATE_CHANGE): _health_alarm,
    **{(Source.APP, detail_type.value): _app_event for detail_type in AppDetailType},
}


def parse_notice_event(event: Any) -> NoticeOrIgnored:
    """Parse_notice_event maps an EventBridge event to a notice; unknown, malformed or benign ones are ignored."""
    return route(event, NOTICE_ROUTES, unrouted="no notice")
