"""Cluster watch triggers: EMR cluster state changes and the watch's schedule, as a (source, detail-type) table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from emr_autoscaler.eventbridge import (
    ClusterStateChangeDetail,
    DetailType,
    Envelope,
    Ignored,
    Routes,
    ScheduledEventDetail,
    Source,
    route,
)


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


WatchTrigger = ClusterStateChange | WatchTick | Ignored

# The full ListClusters sync runs on the ticks whose minute falls in the first 5 minutes of each quarter hour:
# with a 5-minute schedule, one tick in three.
FULL_SYNC_EVERY_MIN = 15


def _tick(event: Envelope, _detail: ScheduledEventDetail) -> WatchTrigger:
    return WatchTick(event_id=event.id, full_sync=event.time.minute % FULL_SYNC_EVERY_MIN < 5)


def _cluster_state(event: Envelope, detail: ClusterStateChangeDetail) -> WatchTrigger:
    return ClusterStateChange(event_id=event.id, cluster_id=detail.cluster_id, state=detail.state, name=detail.name)


WATCH_ROUTES: Routes[WatchTrigger] = {
    (Source.SCHEDULE, DetailType.SCHEDULED_EVENT): _tick,
    (Source.EMR, DetailType.CLUSTER_STATE_CHANGE): _cluster_state,
}


def parse_watch_trigger(event: Any) -> WatchTrigger:
    """Parse_watch_trigger maps the cluster watch's events; unknown or malformed ones are ignored with a reason."""
    return route(event, WATCH_ROUTES)
