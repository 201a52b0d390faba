"""Cluster watch: keep the registry and each cluster's alarms in step with EMR and the configuration.

- A state change registers an opted-in cluster (STARTING/BOOTSTRAPPING/RUNNING/WAITING) and reconciles its
  alarms, or unregisters a terminated one and deletes its alarms.
- The schedule reconciles every registered cluster's alarms against the current configuration (one
  DescribeAlarms per cluster when nothing changed, no writes), and every 15 minutes lists every cluster
  to repair what missed events left (EMR events are best effort).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.clusters import ClusterNotFoundError, ClusterReader
from emr_autoscaler.kernel.config.document import ConfigDocument
from emr_autoscaler.kernel.config.source import ConfigSource
from emr_autoscaler.kernel.events import AppDetailType, AppEvent, AppEventDetail, AppReason, EventPublisher
from emr_autoscaler.kernel.models import ClusterSnapshot, RegisteredCluster
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.watch.domain.alarms import (
    TERMINAL_STATES,
    WATCHED_STATES,
    AlarmChanges,
    desired_alarms,
    plan_alarm_changes,
)
from emr_autoscaler.watch.domain.registry import WatchAction, sync_action
from emr_autoscaler.watch.ports import AlarmManager, ClusterRegistry
from emr_autoscaler.watch.triggers import ClusterStateChange, WatchTrigger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchResult:
    """WatchResult says what the watch did for one cluster."""

    cluster_id: str
    action: WatchAction
    detail: str
    alarms_put: tuple[str, ...] = ()
    alarms_deleted: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """As_dict is the JSON-ready form."""
        return {
            "cluster_id": self.cluster_id,
            "action": self.action.value,
            "detail": self.detail,
            "alarms_put": list(self.alarms_put),
            "alarms_deleted": list(self.alarms_deleted),
        }


@dataclass
class ClusterWatch:
    """ClusterWatch registers clusters and reconciles their alarms. Build it once per cold start."""

    emr: ClusterReader
    registry: ClusterRegistry
    alarms: AlarmManager
    config: ConfigSource
    alarm_prefix: str
    clock: Callable[[], datetime]
    events: EventPublisher

    def handle(self, trigger: WatchTrigger) -> dict[str, Any]:
        """Handle runs what the trigger asks for and returns the invocation's summary."""
        if isinstance(trigger, Ignored):
            logger.warning("event ignored: %s", trigger.reason)
            return {"ignored": True, "reason": trigger.reason, "results": []}
        if isinstance(trigger, ClusterStateChange):
            results = [self.on_state_change(trigger.cluster_id, trigger.state)]
        else:
            results = self.sync(full=trigger.full_sync)
        return {"ignored": False, "event_id": trigger.event_id, "results": [r.as_dict() for r in results]}

    def _apply(self, cluster_id: str, changes: AlarmChanges) -> None:
        for alarm in changes.put:
            self.alarms.put(alarm)
        if changes.delete:
            self.alarms.delete(changes.delete)

    def _forget(self, cluster_id: str, why: str) -> WatchResult:
        existing = self.alarms.existing(cluster_id)
        changes = plan_alarm_changes((), existing)
        self._apply(cluster_id, changes)
        self.registry.unregister(cluster_id)
        logger.info("unregistered %s: %s", cluster_id, why, extra={"cluster_id": cluster_id})
        return WatchResult(cluster_id, WatchAction.UNREGISTERED, why, alarms_deleted=changes.delete)

    def _document(self) -> ConfigDocument:
        return self.config.current()

    def reconcile_alarms(self, cluster_id: str, profile: str | None) -> WatchResult:
        """Reconcile_alarms brings one cluster's alarms to what its profile's thresholds ask for."""
        used, policy, unknown = self._document().policy_for(profile)
        if unknown:
            self._warn_profile(cluster_id, profile)
        changes = plan_alarm_changes(
            desired_alarms(cluster_id, policy.alarms, self.alarm_prefix), self.alarms.existing(cluster_id)
        )
        self._apply(cluster_id, changes)
        detail = "alarms up to date" if changes.empty else f"{len(changes.put)} put, {len(changes.delete)} deleted"
        return WatchResult(
            cluster_id,
            WatchAction.ALARMS_RECONCILED,
            f"profile {used}: {detail}",
            alarms_put=tuple(a.name for a in changes.put),
            alarms_deleted=changes.delete,
        )

    def _warn_profile(self, cluster_id: str, profile: str | None) -> None:
        message = f"Cluster {cluster_id} asks for profile {profile!r}, which the configuration does not define."
        logger.warning(message, extra={"cluster_id": cluster_id})
        event = AppEvent(
            detail_type=AppDetailType.CLUSTER_WATCH,
            detail=AppEventDetail(
                reason_code=AppReason.PROFILE_UNKNOWN,
                explanation=message,
                severity=Severity.WARNING,
                cluster_id=cluster_id,
                action="using the default profile",
            ),
        )
        try:
            self.events.publish([event])
        except Exception:
            logger.exception("could not publish the unknown-profile notice for %s", cluster_id)

    def _register(self, snapshot: ClusterSnapshot) -> WatchResult:
        self.registry.register(
            RegisteredCluster(
                cluster_id=snapshot.cluster_id,
                name=snapshot.name,
                profile=snapshot.profile_name,
                state=snapshot.state.value,
                registered_at=self.clock(),
            )
        )
        reconciled = self.reconcile_alarms(snapshot.cluster_id, snapshot.profile_name)
        logger.info("registered %s", snapshot.cluster_id, extra={"cluster_id": snapshot.cluster_id})
        return WatchResult(
            snapshot.cluster_id,
            WatchAction.REGISTERED,
            f"{snapshot.state}: {reconciled.detail}",
            alarms_put=reconciled.alarms_put,
            alarms_deleted=reconciled.alarms_deleted,
        )

    def on_state_change(self, cluster_id: str, state: str) -> WatchResult:
        """On_state_change registers, refreshes or unregisters one cluster after an EMR state change."""
        if state in TERMINAL_STATES:
            return self._forget(cluster_id, f"cluster {state}")
        if state not in WATCHED_STATES:
            return WatchResult(cluster_id, WatchAction.IGNORED, f"state {state} changes nothing")
        try:
            snapshot = self.emr.describe(cluster_id)
        except ClusterNotFoundError:
            return self._forget(cluster_id, "EMR does not know the cluster")
        if not snapshot.opted_in:
            logger.debug("cluster %s has not opted in; ignored", cluster_id)
            return WatchResult(cluster_id, WatchAction.IGNORED, "not opted in")
        return self._register(snapshot)

    def sync(self, full: bool) -> list[WatchResult]:
        """Sync reconciles every registered cluster's alarms; `full` first repairs the registry from ListClusters."""
        results: list[WatchResult] = []
        registered = {c.cluster_id: c for c in self.registry.registered()}
        if full:
            active = set(self.emr.list_active_cluster_ids())
            for cluster_id in sorted(active | set(registered)):
                try:
                    snapshot = self.emr.describe(cluster_id)
                except ClusterNotFoundError:
                    results.append(self._forget(cluster_id, "EMR does not know the cluster"))
                    registered.pop(cluster_id, None)
                    continue
                action = sync_action(snapshot, cluster_id in registered)
                if action is not None and action[0] is WatchAction.UNREGISTERED:
                    results.append(self._forget(cluster_id, action[1]))
                    registered.pop(cluster_id)
                elif action is not None:
                    results.append(self._register(snapshot))
        for cluster_id, entry in sorted(registered.items()):
            results.append(self.reconcile_alarms(cluster_id, entry.profile))
        return results
