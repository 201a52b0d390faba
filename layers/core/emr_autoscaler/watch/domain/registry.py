"""Registry rules of the cluster watch: which clusters are watched, and what becomes of each. Pure.

A cluster is watched while it is opted in and STARTING, BOOTSTRAPPING, RUNNING or WAITING; it is forgotten (its
alarms deleted) when it terminates, EMR no longer knows it, or its opt-in tag is removed.
"""

from __future__ import annotations

from enum import StrEnum

from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.watch.domain.alarms import TERMINAL_STATES, WATCHED_STATES


class WatchAction(StrEnum):
    """WatchAction is what the watch did for one cluster."""

    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    IGNORED = "ignored"
    ALARMS_RECONCILED = "alarms-reconciled"


def sync_action(snapshot: ClusterSnapshot, registered: bool) -> tuple[WatchAction, str] | None:
    """Sync_action says what a full sync does with a cluster EMR describes: register it, forget it (with why), or
    nothing (None: a registered cluster keeps its entry and has its alarms reconciled; others stay unwatched)."""
    gone = snapshot.state in TERMINAL_STATES or snapshot.state is ClusterState.TERMINATING
    if registered and (gone or not snapshot.opted_in):
        why = "opt-in tag removed" if not snapshot.opted_in else f"cluster {snapshot.state}"
        return WatchAction.UNREGISTERED, why
    if not registered and snapshot.opted_in and snapshot.state in WATCHED_STATES:
        return WatchAction.REGISTERED, f"cluster {snapshot.state}"
    return None
