"""Ports: the narrow interfaces the service needs from the outside world. Adapters implement them.

Only domain values cross a port; boto3 dicts and HTTP bodies stay inside the adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from emr_autoscaler.kernel.config.document import ConfigDocument
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, InstanceGroupCapacity, YarnMetrics
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceGroup, ResizePlan, ScalingState
from emr_autoscaler.watch.domain.alarms import AlarmSpec, RegisteredCluster


class ClusterNotFoundError(LookupError):
    """ClusterNotFoundError: EMR does not know the cluster id."""


class GroupMovedError(RuntimeError):
    """GroupMovedError: a group changed between the decision and the action, so the command was refused."""


class EmrClusters(Protocol):
    """EmrClusters reads clusters and resizes instance groups."""

    def describe(self, cluster_id: str) -> ClusterSnapshot:
        """Describe returns the cluster's state, tags and master address, without groups.

        Raises ClusterNotFoundError when EMR does not know the id.
        """
        ...

    def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
        """Instance_groups returns the cluster's instance groups (read only for clusters worth scaling)."""
        ...

    def list_active_cluster_ids(self) -> list[str]:
        """List_active_cluster_ids returns the ids of RUNNING and WAITING clusters."""
        ...

    def resize(self, cluster_id: str, commands: Sequence[ResizeInstanceGroup]) -> None:
        """Resize re-reads each group and applies the commands; raises GroupMovedError if one has moved."""
        ...


class YarnMetricsReader(Protocol):
    """YarnMetricsReader reads one source of YARN metrics for a cluster; None when it cannot answer."""

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        """Read returns the cluster's current metrics from this source, or None."""
        ...


class StateStore(Protocol):
    """StateStore keeps each cluster's ScalingState and the decision audit trail."""

    def load(self, cluster_id: str) -> ScalingState:
        """Load returns the stored state, or a fresh one (version 0) for a cluster never seen."""
        ...

    def save(self, state: ScalingState, expected_version: int) -> bool:
        """Save writes `state` as version expected_version + 1, only if the stored version is `expected_version`.

        Returns False when another evaluation wrote first: the caller must not act on its plan.
        """
        ...

    def record(self, plan: ResizePlan, outcome: str) -> None:
        """Record appends an audit record of a decision and what became of it (expires after a TTL)."""
        ...


class ConfigSource(Protocol):
    """ConfigSource returns the configuration document in force (the last valid one)."""

    def current(self) -> ConfigDocument:
        """Current returns the document in force; raises ConfigInvalidError when no valid one was ever read."""
        ...


class DecisionSink(Protocol):
    """DecisionSink publishes decisions for metrics and notification (EMF, EventBridge)."""

    def publish(self, plan: ResizePlan, outcome: str, latency_ms: float | None = None) -> None:
        """Publish emits one decision and what became of it (logs, metrics, events)."""
        ...


class ClusterRegistry(Protocol):
    """ClusterRegistry keeps the set of watched clusters."""

    def register(self, cluster: RegisteredCluster) -> None:
        """Register adds or refreshes a cluster."""
        ...

    def unregister(self, cluster_id: str) -> None:
        """Unregister removes a cluster (idempotent)."""
        ...

    def registered(self) -> list[RegisteredCluster]:
        """Registered lists the watched clusters."""
        ...


class AlarmManager(Protocol):
    """AlarmManager reads and writes one cluster's alarms."""

    def existing(self, cluster_id: str) -> dict[str, AlarmSpec]:
        """Existing returns the cluster's alarms by name."""
        ...

    def put(self, alarm: AlarmSpec) -> None:
        """Put creates or updates one alarm."""
        ...

    def delete(self, names: Sequence[str]) -> None:
        """Delete removes alarms by name."""
        ...
