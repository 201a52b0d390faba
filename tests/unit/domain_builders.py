"""Builders for the pure scaling core's inputs: a fixed clock, clusters, groups, metrics, policies and state.

Every builder returns a valid, coherent, ready-to-scale value by default; a test overrides only what its case
is about, so the case reads as the difference from a healthy cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from emr_autoscaler.kernel.config.document import deep_merge
from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.ids import OPT_IN_TAG
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    ClusterState,
    FleetInstanceType,
    GroupRole,
    GroupState,
    InstanceCollection,
    InstanceFleetCapacity,
    InstanceGroupCapacity,
    MetricsSource,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import ScalingState

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
CLUSTER_ID = "j-TESTCLUSTER01"
CLUSTER_NAME = "nightly-etl"
# One m5.xlarge node as EMR configures YARN on it (see DEFAULT_NODE_CAPACITY).
NODE_MB = 12288
NODE_VCORES = 4


def ago(seconds: float) -> datetime:
    """Ago is the fixed NOW minus `seconds`."""
    return NOW - timedelta(seconds=seconds)


def group(
    group_id: str = "ig-TASK1",
    *,
    role: GroupRole = GroupRole.TASK,
    count: int = 2,
    requested: int | None = None,
    name: str | None = None,
    instance_type: str = "m5.xlarge",
    state: GroupState = GroupState.RUNNING,
    auto_scaling_policy: str | None = None,
) -> InstanceGroupCapacity:
    """Group is one instance group; `count` is its running count, `requested` defaults to it (settled);
    `auto_scaling_policy` the state of its custom automatic scaling policy, if it has one."""
    return InstanceGroupCapacity(
        group_id=group_id,
        name=name or f"{role.value.lower()}-{group_id}",
        role=role,
        instance_type=instance_type,
        state=state,
        requested_count=count if requested is None else requested,
        running_count=count,
        auto_scaling_policy=auto_scaling_policy,
    )


def master() -> InstanceGroupCapacity:
    """Master is the cluster's single MASTER group."""
    return group("ig-MASTER", role=GroupRole.MASTER, count=1, name="master")


def core(count: int = 2, **kwargs: Any) -> InstanceGroupCapacity:
    """Core is a CORE group of `count` nodes."""
    return group("ig-CORE", role=GroupRole.CORE, count=count, name="core", **kwargs)


def task(count: int = 2, group_id: str = "ig-TASK1", **kwargs: Any) -> InstanceGroupCapacity:
    """Task is a TASK group of `count` nodes."""
    return group(group_id, role=GroupRole.TASK, count=count, name=kwargs.pop("name", f"task-{group_id}"), **kwargs)


def snapshot(
    *groups: InstanceGroupCapacity,
    state: ClusterState = ClusterState.RUNNING,
    tags: dict[str, str] | None = None,
    read_at: datetime = NOW,
) -> ClusterSnapshot:
    """Snapshot is an opted-in RUNNING cluster; without groups it has a master, 2 CORE and 2 TASK nodes."""
    return ClusterSnapshot(
        cluster_id=CLUSTER_ID,
        name=CLUSTER_NAME,
        state=state,
        tags={OPT_IN_TAG: "true"} if tags is None else tags,
        groups=(master(), *groups) if groups else (master(), core(2), task(2)),
        master_private_dns="ip-10-0-0-1.ec2.internal",
        read_at=read_at,
    )


# A fleet's two instance types: one m5.xlarge counts 4 units, one m5.2xlarge 8, so a unit is 3072 MB and 1 vcore.
FLEET_TYPES = (
    FleetInstanceType(instance_type="m5.xlarge", weighted_capacity=4),
    FleetInstanceType(instance_type="m5.2xlarge", weighted_capacity=8),
)
UNIT_MB = NODE_MB // 4


def fleet(
    fleet_id: str = "if-TASK1",
    *,
    role: GroupRole = GroupRole.TASK,
    on_demand: int = 0,
    spot: int = 8,
    provisioned_on_demand: int | None = None,
    provisioned_spot: int | None = None,
    state: GroupState = GroupState.RUNNING,
    types: tuple[FleetInstanceType, ...] = FLEET_TYPES,
) -> InstanceFleetCapacity:
    """Fleet is one instance fleet with targets in units; provisioned capacity defaults to its targets (settled)."""
    return InstanceFleetCapacity(
        fleet_id=fleet_id,
        name=f"{role.value.lower()}-fleet",
        role=role,
        state=state,
        target_on_demand=on_demand,
        target_spot=spot,
        provisioned_on_demand=on_demand if provisioned_on_demand is None else provisioned_on_demand,
        provisioned_spot=spot if provisioned_spot is None else provisioned_spot,
        instance_types=types,
    )


def fleet_snapshot(*fleets: InstanceFleetCapacity, tags: dict[str, str] | None = None) -> ClusterSnapshot:
    """Fleet_snapshot is an opted-in RUNNING fleet cluster: a master fleet, a CORE fleet of 8 On-Demand units
    (2 m5.xlarge) and the given fleets (by default a TASK fleet of 8 Spot units), 4 worker nodes in all."""
    master_fleet = fleet("if-MASTER", role=GroupRole.MASTER, on_demand=1, spot=0, types=FLEET_TYPES[:1])
    core_fleet = fleet("if-CORE", role=GroupRole.CORE, on_demand=8, spot=0)
    return snapshot(tags=tags).model_copy(
        update={
            "groups": (),
            "collection": InstanceCollection.INSTANCE_FLEET,
            "fleets": (master_fleet, core_fleet, *(fleets or (fleet(),))),
        }
    )


def metrics(
    *,
    nodes: int = 4,
    allocated_mb: int = 0,
    pending_mb: int = 0,
    pending_vcores: int | None = 0,
    containers_allocated: int | None = None,
    containers_pending: int | None = None,
    apps_running: int | None = None,
    apps_pending: int | None = None,
    allocated_vcores: int | None = None,
    total_mb: int | None = None,
    available_mb: int | None = None,
    total_vcores: int | None = None,
    hdfs_pct: float | None = None,
    age_s: float = 10,
    source: MetricsSource = MetricsSource.RESOURCE_MANAGER,
    reserved_mb: int = 0,
) -> YarnMetrics:
    """Metrics is a coherent ResourceManager reading for `nodes` m5.xlarge nodes (idle by default).

    Counts that are left out follow from the memory figures: one 2 GB container per 2048 MB, an app running
    while anything is allocated, an app pending while anything is pending. Reserved memory is neither available nor
    allocated (the CapacityScheduler's sum, total = available + allocated + reserved).
    """
    total_mb = nodes * NODE_MB if total_mb is None else total_mb
    containers_allocated = allocated_mb // 2048 if containers_allocated is None else containers_allocated
    containers_pending = -(-pending_mb // 2048) if containers_pending is None else containers_pending
    vcores = source is MetricsSource.RESOURCE_MANAGER
    return YarnMetrics(
        source=source,
        observed_at=ago(age_s),
        apps_running=(1 if allocated_mb else 0) if apps_running is None else apps_running,
        apps_pending=(1 if pending_mb or containers_pending else 0) if apps_pending is None else apps_pending,
        containers_allocated=containers_allocated,
        containers_pending=containers_pending,
        allocated_memory_mb=allocated_mb,
        available_memory_mb=total_mb - allocated_mb - reserved_mb if available_mb is None else available_mb,
        total_memory_mb=total_mb,
        pending_memory_mb=pending_mb,
        allocated_vcores=(containers_allocated if allocated_vcores is None else allocated_vcores) if vcores else None,
        available_vcores=None,
        total_vcores=(nodes * NODE_VCORES if total_vcores is None else total_vcores) if vcores else None,
        pending_vcores=pending_vcores if vcores else None,
        active_nodes=nodes if vcores else None,
        hdfs_utilization_pct=hdfs_pct,
        pending_estimated=False,
        reserved_memory_mb=reserved_mb,
    )


def cloudwatch_metrics(*, containers_pending: int = 0, nodes: int = 4, age_s: float = 60, **kwargs: Any) -> YarnMetrics:
    """Cloudwatch_metrics is what the CloudWatch source reports: counts and memory, no vcores, no pending MB."""
    return metrics(
        nodes=nodes,
        containers_pending=containers_pending,
        apps_pending=1 if containers_pending else 0,
        source=MetricsSource.CLOUDWATCH,
        age_s=age_s,
        **kwargs,
    )


# The thresholds the reason cases were written against, pinned so that a change of `balance`'s table changes no
# case: a 600-s window, a 300-s scale-in cooldown, and a scale-in step of max_step_nodes whatever the group's size.
PINNED: dict[str, Any] = {"scale_in": {"stabilization_window_s": 600, "cooldown_s": 300, "max_step_pct": 100}}


def policy(**overrides: Any) -> ScalingPolicy:
    """Policy is the pinned ScalingPolicy with nested sections deep-merged from `overrides` (plain dicts)."""
    return ScalingPolicy.model_validate(deep_merge(PINNED, overrides))


def state(**fields: Any) -> ScalingState:
    """State is the cluster's scaling memory; by default nothing happened yet."""
    return ScalingState(cluster_id=CLUSTER_ID, **fields)
