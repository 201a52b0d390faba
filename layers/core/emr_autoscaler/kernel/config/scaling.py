"""ScalingPolicy: the thresholds ops tune, validated. Units are in the field names (`_s` seconds, `_pct` percent).

Every model refuses unknown keys, so a typo in the configuration document is an error that names the field,
never a silently ignored setting.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from emr_autoscaler.kernel.config.alarms import AlarmThresholds
from emr_autoscaler.kernel.config.balance import DEFAULT_BALANCE, fill_from_balance
from emr_autoscaler.kernel.config.fleets import FleetsConfig, keep_role_defaults
from emr_autoscaler.kernel.config.steps import StepRetryPolicy
from emr_autoscaler.kernel.models import Frozen, MetricsSource


class Mode(StrEnum):
    """Mode: `active` acts; `observe` decides, logs and notifies what it would do, never acts; `paused` does nothing."""

    ACTIVE = "active"
    OBSERVE = "observe"
    PAUSED = "paused"


class ManagedScalingMode(StrEnum):
    """ManagedScalingMode: what the scaler does on a cluster with EMR Managed Scaling attached. `hold` leaves it
    alone (HOLD_OTHER_SCALER, one notice); `tune` resizes it through the policy's maximums instead of its groups."""

    HOLD = "hold"
    TUNE = "tune"


class NodeCapacity(Frozen):
    """NodeCapacity is what one node of an instance type offers YARN (memory in MB, vcores)."""

    memory_mb: int = Field(gt=0)
    vcores: int = Field(gt=0)


# EMR's default yarn.nodemanager.resource.memory-mb / cpu-vcores per instance type (EMR release guide,
# "Task configuration"). Used when the metrics cannot tell one node's capacity; ops can override or extend.
DEFAULT_NODE_CAPACITY: dict[str, NodeCapacity] = {
    "m5.xlarge": NodeCapacity(memory_mb=12288, vcores=4),
    "m5.2xlarge": NodeCapacity(memory_mb=24576, vcores=8),
    "m5.4xlarge": NodeCapacity(memory_mb=57344, vcores=16),
    "m6g.xlarge": NodeCapacity(memory_mb=12288, vcores=4),
    "m6g.2xlarge": NodeCapacity(memory_mb=24576, vcores=8),
    "r5.xlarge": NodeCapacity(memory_mb=24576, vcores=4),
    "r5.2xlarge": NodeCapacity(memory_mb=57344, vcores=8),
    "c5.xlarge": NodeCapacity(memory_mb=6144, vcores=4),
    "c5.2xlarge": NodeCapacity(memory_mb=12288, vcores=8),
}


class GroupLimits(Frozen):
    """GroupLimits bounds one group role's node count; the scaler never leaves [min_nodes, max_nodes]."""

    min_nodes: int = Field(ge=0)
    max_nodes: int = Field(ge=0)
    scalable: bool = True

    @model_validator(mode="after")
    def _min_not_above_max(self) -> GroupLimits:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) is greater than max_nodes ({self.max_nodes})")
        return self


class GroupsConfig(Frozen):
    """GroupsConfig holds the limits per role; CORE is left alone unless `core.scalable` is true."""

    task: GroupLimits = GroupLimits(min_nodes=0, max_nodes=20)
    core: GroupLimits = GroupLimits(min_nodes=2, max_nodes=10, scalable=False)

    @model_validator(mode="before")
    @classmethod
    def _partial_limits_keep_role_defaults(cls, data: Any) -> Any:
        # Every other section fills what a document leaves out from its defaults; a role's limits must too.
        return keep_role_defaults(cls, data)


class MetricsConfig(Frozen):
    """MetricsConfig says which sources to read, in order (the first that answers wins), and when data is stale."""

    sources: tuple[MetricsSource, ...] = (MetricsSource.RESOURCE_MANAGER, MetricsSource.CLOUDWATCH)
    resourcemanager_max_age_s: int = Field(default=120, gt=0)
    cloudwatch_max_age_s: int = Field(default=900, gt=0)
    resourcemanager_timeout_s: float = Field(default=2.0, gt=0, le=30)
    estimated_container_memory_mb: int = Field(default=2048, gt=0)

    @model_validator(mode="after")
    def _sources_unique(self) -> MetricsConfig:
        if not self.sources:
            raise ValueError("sources must name at least one metrics source")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("sources lists a source twice")
        return self

    def max_age_s(self, source: MetricsSource) -> int:
        """Max_age_s is how old metrics from `source` may be before the scaler refuses to act on them."""
        if source is MetricsSource.RESOURCE_MANAGER:
            return self.resourcemanager_max_age_s
        return self.cloudwatch_max_age_s


class ScaleOutConfig(Frozen):
    """ScaleOutConfig sizes scale-out from the demand still waiting when new nodes would start.

    One action adds at most the larger of `max_step_nodes` and `max_step_pct` of a group's size (so budgets grow
    with the cluster, as Karpenter's do). `start_delay_s` is how long a new node takes to join YARN until the
    cluster's own resizes have shown it; `drain_trust_pct` is how much of the backlog's observed drain is believed,
    `headroom_pct` what is added on top (both follow `balance` unless set).
    """

    max_step_nodes: int = Field(default=10, gt=0)
    max_step_pct: float = Field(default=100.0, ge=0, le=1000)
    cooldown_s: int = Field(default=60, ge=0)
    start_delay_s: int = Field(default=360, gt=0, le=3600)
    headroom_pct: float = Field(default=0.0, ge=0, le=200)
    drain_trust_pct: float = Field(default=50.0, ge=0, le=100)

    def step_budget(self, count: int, units_per_node: int = 1) -> int:
        """Step_budget is the most one action adds to a group of `count` (nodes, or a fleet's units, where
        `max_step_nodes` nodes are as many of its lightest type, `units_per_node`): the larger of the two budgets."""
        return max(self.max_step_nodes * units_per_node, math.ceil(count * self.max_step_pct / 100.0))


class ScaleInConfig(Frozen):
    """ScaleInConfig: shrink only after utilization stays under the threshold for the stabilization window.

    Nodes are removed until the remaining ones would run at `target_utilization_pct` of the larger of the load
    now and the highest demand seen within one start delay (or `peak_memory_s`, when longer), at most the smaller
    of `max_step_nodes` and `max_step_pct` of a group's size per action (at least one node), gracefully (YARN
    decommission up to `decommission_timeout_s`). An idle cluster's nodes are all empty: they go at once.
    """

    utilization_threshold_pct: float = Field(default=50.0, ge=0, le=100)
    target_utilization_pct: float = Field(default=80.0, gt=0, le=100)
    stabilization_window_s: int = Field(default=600, gt=0)
    max_step_nodes: int = Field(default=5, gt=0)
    max_step_pct: float = Field(default=50.0, gt=0, le=100)
    peak_memory_s: int = Field(default=0, ge=0, le=86400)
    cooldown_s: int = Field(default=300, ge=0)
    decommission_timeout_s: int = Field(default=3600, gt=0)

    @model_validator(mode="after")
    def _target_above_threshold(self) -> ScaleInConfig:
        if self.target_utilization_pct < self.utilization_threshold_pct:
            raise ValueError(
                f"target_utilization_pct ({self.target_utilization_pct}) is below utilization_threshold_pct "
                f"({self.utilization_threshold_pct}): the scaler would shrink, then find the cluster still idle"
            )
        return self


class HdfsConfig(Frozen):
    """HdfsConfig protects HDFS when CORE nodes (which hold its blocks) would be removed."""

    max_utilization_pct: float = Field(default=70.0, gt=0, le=100)
    replication_factor: int = Field(default=3, gt=0)


class NodeLabelsConfig(Frozen):
    """NodeLabelsConfig: whether the scaler follows the cluster's YARN node labels, and an AM's size.

    With `follow` (the default), where the cluster pins ApplicationMasters to a label (CORE, ON_DEMAND), the memory
    pending AMs wait for grows the groups that carry the label, and only the rest (executors) grows TASK first.
    What pending AMs wait for is read from the label's partition (the scheduler endpoint's per-partition pending
    memory). Where the ResourceManager does not report it, `am_memory_mb` (unset by default) lets the scaler count
    `appsPending` AMs of that size instead (Spark's driver in cluster mode: spark.driver.memory plus its overhead).
    It is opt-in: an application can be pending for reasons nodes do not cure (a queue's maximum applications), and
    counting it would grow the label's groups to their maximum and keep them from shrinking.
    """

    follow: bool = True
    am_memory_mb: int | None = Field(default=None, gt=0)


class ScalingPolicy(Frozen):
    """ScalingPolicy is one profile's complete, validated set of thresholds.

    `balance` (0 cheapest .. 100 least wait, default 50) sets the thresholds of kernel/config/balance.py that the
    profile does not set itself.
    """

    balance: int = Field(default=DEFAULT_BALANCE, ge=0, le=100)
    metrics: MetricsConfig = MetricsConfig()
    scale_out: ScaleOutConfig = ScaleOutConfig()
    scale_in: ScaleInConfig = ScaleInConfig()
    groups: GroupsConfig = GroupsConfig()
    fleets: FleetsConfig = FleetsConfig()
    hdfs: HdfsConfig = HdfsConfig()
    node_labels: NodeLabelsConfig = NodeLabelsConfig()
    node_capacity: dict[str, NodeCapacity] = Field(default_factory=dict)
    mode: Mode = Mode.ACTIVE
    managed_scaling: ManagedScalingMode = ManagedScalingMode.HOLD
    alarms: AlarmThresholds = AlarmThresholds()
    step_retry: StepRetryPolicy = StepRetryPolicy()

    @model_validator(mode="before")
    @classmethod
    def _thresholds_from_balance(cls, data: Any) -> Any:
        return fill_from_balance(data)

    def capacity_of(self, instance_type: str) -> NodeCapacity | None:
        """Capacity_of is one node's YARN capacity for an instance type: configured first, then EMR's default."""
        return self.node_capacity.get(instance_type) or DEFAULT_NODE_CAPACITY.get(instance_type)
