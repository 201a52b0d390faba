"""Ports: the narrow interfaces the service needs from the outside world. Adapters implement them.

Only domain values cross a port; boto3 dicts and HTTP bodies stay inside the adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from emr_autoscaler.kernel.clusters import ClusterReader, RegisteredClusters
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    InstanceFleetCapacity,
    InstanceGroupCapacity,
    InstanceLocation,
    ManagedScalingLimits,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    Outcome,
    ResizeInstanceFleet,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
    TuneManagedScaling,
)
from emr_autoscaler.scaling.triggers import EvaluationRequest


class GroupMovedError(RuntimeError):
    """GroupMovedError: a group changed between the decision and the action, so the command was refused."""


class ClusterUnreadableError(RuntimeError):
    """ClusterUnreadableError: EMR answered, but not in a way the scaler can read (an API the cluster does not
    support, a shape it does not know); retrying will not help, so the cluster is held, not failed."""


class OtherScalerUnreadableError(RuntimeError):
    """OtherScalerUnreadableError: the scaler cannot tell whether another scaler drives the cluster (a managed scaling
    answer refused, throttled or of a shape it does not know); the cluster is held, never resized blind."""


class ManagedScaling(Protocol):
    """ManagedScaling reads and tunes a cluster's EMR Managed Scaling policy."""

    def limits(self, cluster_id: str) -> ManagedScalingLimits | None:
        """Limits is the attached policy's limits, or None when none is attached; raises OtherScalerUnreadableError
        on an answer it cannot read (refused, throttled after retries, unknown shape)."""
        ...

    def tune(self, cluster_id: str, command: TuneManagedScaling) -> None:
        """Tune re-reads the policy and replaces its limits with the command's; raises GroupMovedError when the policy
        is no longer what the decision saw."""
        ...


class EmrClusters(ClusterReader, Protocol):
    """EmrClusters reads clusters and resizes instance groups."""

    def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
        """Instance_groups returns the cluster's instance groups (read only for clusters worth scaling)."""
        ...

    def list_active_cluster_ids(self) -> list[str]:
        """List_active_cluster_ids returns the ids of RUNNING and WAITING clusters."""
        ...

    def resize(self, cluster_id: str, commands: Sequence[ResizeInstanceGroup]) -> None:
        """Resize re-reads each group and applies the commands; raises GroupMovedError if one has moved."""
        ...


class EmrFleets(Protocol):
    """EmrFleets reads and resizes an instance-fleet cluster's fleets (targets in units)."""

    def instance_fleets(self, cluster_id: str) -> tuple[InstanceFleetCapacity, ...]:
        """Instance_fleets returns the cluster's fleets; raises ClusterUnreadableError on a shape it cannot read."""
        ...

    def resize_fleets(self, cluster_id: str, commands: Sequence[ResizeInstanceFleet]) -> None:
        """Resize_fleets re-reads each fleet and applies the commands; raises GroupMovedError if one has moved."""
        ...

    def locate_instance(self, cluster_id: str, ec2_instance_id: str) -> InstanceLocation | None:
        """Locate_instance says where the EC2 instance runs in this cluster (ListInstances), or None."""
        ...

    def lost_instances(self, cluster_id: str, owner_id: str, since: datetime) -> tuple[InstanceLocation, ...]:
        """Lost_instances are the Spot instances of the group or fleet `owner_id` that ended since `since`
        (ListInstances, TERMINATED)."""
        ...


class InstanceUnresolvedError(RuntimeError):
    """InstanceUnresolvedError: EC2 could not say which cluster an instance belongs to (DescribeInstances throttled
    past botocore's retries, refused, timed out); the instance may not even be an EMR one."""


class InstanceDirectory(Protocol):
    """InstanceDirectory says which EMR cluster runs an EC2 instance (EC2 DescribeInstances, EMR's system tag)."""

    def cluster_of(self, ec2_instance_id: str) -> str | None:
        """Cluster_of is the id of the EMR cluster the instance belongs to; None when it is no EMR instance or EC2
        does not know it; raises InstanceUnresolvedError when EC2 cannot answer."""
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

    def record(self, plan: ResizePlan, outcome: Outcome) -> None:
        """Record appends an audit record of a decision and what became of it (expires after a TTL)."""
        ...


class DecisionSink(Protocol):
    """DecisionSink publishes decisions for metrics and notification (EMF, EventBridge)."""

    def publish(self, plan: ResizePlan, outcome: Outcome, latency_ms: float | None = None) -> None:
        """Publish emits one decision and what became of it (logs, metrics, events)."""
        ...


class EvaluationQueue(Protocol):
    """EvaluationQueue carries evaluation requests to the scaler's consumers, one message group per cluster."""

    def send(self, requests: Sequence[EvaluationRequest]) -> None:
        """Send enqueues every request (deduplicated by its deduplication_id); raises if any was refused."""
        ...


class ClusterRegistry(RegisteredClusters, Protocol):
    """ClusterRegistry lists the watched clusters and lets the scaler drop one EMR no longer knows."""

    def unregister(self, cluster_id: str) -> None:
        """Unregister removes the cluster's registry entry (nothing happens when there is none)."""
        ...


class BatchMetrics(Protocol):
    """BatchMetrics counts what one invocation's batch of evaluations cost: the API budget and its use."""

    def batch(self, *, evaluated: int, failed: int, api_calls: int, elapsed_s: float, budget: int) -> None:
        """Batch records the evaluations run, the records left for the queue to retry (`failed`: those that failed
        and the later ones of their groups), the AWS calls made, over how long, and the budget (the event source
        mapping's maximum concurrency)."""
        ...
