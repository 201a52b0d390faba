"""Domain models: what the scaler knows about a cluster and its YARN load.

Pure values: no boto3, no clock, no environment. Adapters translate AWS and HTTP shapes into these.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emr_autoscaler.kernel.ids import OPT_IN_TAG, PROFILE_TAG


class Frozen(BaseModel):
    """Frozen is the base of every domain value: immutable, and unknown fields are refused."""

    # defer_build: a model's validator is built when it first validates, so a function never pays for the models
    # of the jobs it does not run (a cold start builds only what its own path uses).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ClusterState(StrEnum):
    """ClusterState mirrors EMR's cluster states."""

    STARTING = "STARTING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    TERMINATED_WITH_ERRORS = "TERMINATED_WITH_ERRORS"


ACTIVE_CLUSTER_STATES = frozenset({ClusterState.RUNNING, ClusterState.WAITING})


class GroupRole(StrEnum):
    """GroupRole is an instance group's market-independent role in the cluster."""

    MASTER = "MASTER"
    CORE = "CORE"
    TASK = "TASK"


class GroupState(StrEnum):
    """GroupState mirrors EMR's instance group states."""

    PROVISIONING = "PROVISIONING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    RUNNING = "RUNNING"
    RECONFIGURING = "RECONFIGURING"
    RESIZING = "RESIZING"
    SUSPENDED = "SUSPENDED"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ARRESTED = "ARRESTED"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    ENDED = "ENDED"


class InstanceGroupCapacity(Frozen):
    """InstanceGroupCapacity is one instance group's size and state.

    A group whose requested count differs from its running count is still resizing, whatever its state says.
    """

    group_id: str
    name: str
    role: GroupRole
    instance_type: str
    state: GroupState
    requested_count: int = Field(ge=0)
    running_count: int = Field(ge=0)
    # ListInstanceGroups' Market: ON_DEMAND or SPOT.
    market: str = "ON_DEMAND"
    # How many of the counts above one node is: 1 for a group; for a fleet seen as a group of units, its lightest
    # type's WeightedCapacity (so a budget of N nodes is N of those, at most N nodes whatever EMR launches).
    units_per_node: int = Field(default=1, gt=0)
    # The state of the group's custom automatic scaling policy (ListInstanceGroups' AutoScalingPolicy.Status.State:
    # PENDING, ATTACHING, ATTACHED, DETACHING, DETACHED or FAILED), None when it has none: another scaler.
    auto_scaling_policy: str | None = None

    @property
    def settled(self) -> bool:
        """Settled is true when the group is RUNNING and has what it asked for."""
        return self.state is GroupState.RUNNING and self.requested_count == self.running_count

    @property
    def resizable(self) -> bool:
        """Resizable is true when EMR accepts a new count now: RUNNING, or RESIZING (a resize can be overridden)."""
        return self.state is GroupState.RUNNING or self.state is GroupState.RESIZING

    @property
    def in_flight(self) -> int:
        """In_flight counts nodes asked for and not yet running (capacity coming)."""
        return max(0, self.requested_count - self.running_count)

    @property
    def draining(self) -> int:
        """Draining counts running nodes on their way out (a shrink in progress)."""
        return max(0, self.running_count - self.requested_count)


class InstanceCollection(StrEnum):
    """InstanceCollection is DescribeCluster's `InstanceCollectionType`: groups or fleets (fixed at launch)."""

    INSTANCE_GROUP = "INSTANCE_GROUP"
    INSTANCE_FLEET = "INSTANCE_FLEET"


class FleetInstanceType(Frozen):
    """FleetInstanceType is one instance type a fleet may launch and how many units one of its nodes counts for."""

    instance_type: str
    weighted_capacity: int = Field(default=1, gt=0)


class InstanceFleetCapacity(Frozen):
    """InstanceFleetCapacity is one instance fleet's size in units (ListInstanceFleets), per market.

    A fleet's targets and provisioned capacities are in units: each node counts for its type's WeightedCapacity
    (https://docs.aws.amazon.com/emr/latest/APIReference/API_InstanceFleet.html). Provisioned capacity may
    overshoot its target by less than one node's weight.
    """

    fleet_id: str
    name: str
    role: GroupRole
    state: GroupState
    target_on_demand: int = Field(ge=0)
    target_spot: int = Field(ge=0)
    provisioned_on_demand: int = Field(ge=0)
    provisioned_spot: int = Field(ge=0)
    instance_types: tuple[FleetInstanceType, ...] = ()

    @property
    def target_units(self) -> int:
        """Target_units is what the fleet asks for, On-Demand and Spot together."""
        return self.target_on_demand + self.target_spot

    @property
    def provisioned_units(self) -> int:
        """Provisioned_units is what the fleet has, On-Demand and Spot together."""
        return self.provisioned_on_demand + self.provisioned_spot

    @property
    def spot_missing(self) -> int:
        """Spot_missing is the Spot capacity asked for and not (yet) provisioned, in units."""
        return max(0, self.target_spot - self.provisioned_spot)


class ManagedScalingUnit(StrEnum):
    """ManagedScalingUnit is what a managed scaling policy's limits count (ComputeLimits.UnitType): instances or
    vCPUs of an instance-group cluster's CORE and TASK nodes, or an instance-fleet cluster's units."""

    INSTANCES = "Instances"
    VCPU = "VCPU"
    INSTANCE_FLEET_UNITS = "InstanceFleetUnits"


class ManagedScalingLimits(Frozen):
    """ManagedScalingLimits is the EMR Managed Scaling policy attached to a cluster (GetManagedScalingPolicy).

    The limits count the whole cluster's CORE and TASK capacity in `unit_type`
    (https://docs.aws.amazon.com/emr/latest/APIReference/API_ComputeLimits.html): the maximum On-Demand and CORE
    caps are optional and never above the maximum. `scaling_strategy` and `utilization_performance_index` are the
    rest of the policy, carried unchanged through PutManagedScalingPolicy, which replaces the whole policy.
    """

    unit_type: ManagedScalingUnit
    minimum_units: int = Field(ge=0)
    maximum_units: int = Field(ge=0)
    maximum_on_demand_units: int | None = Field(default=None, ge=0)
    maximum_core_units: int | None = Field(default=None, ge=0)
    scaling_strategy: str | None = None
    utilization_performance_index: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ManagedScalingLimits:
        if self.minimum_units > self.maximum_units:
            raise ValueError(f"MinimumCapacityUnits {self.minimum_units} is above MaximumCapacityUnits")
        return self

    def describe(self) -> str:
        """Describe is the limits in one phrase: `2..20 Instances (On-Demand ≤ 10, CORE ≤ 4)`."""
        caps = [
            f"{name} ≤ {value}"
            for name, value in (("On-Demand", self.maximum_on_demand_units), ("CORE", self.maximum_core_units))
            if value is not None
        ]
        return f"{self.minimum_units}..{self.maximum_units} {self.unit_type}" + (
            f" ({', '.join(caps)})" if caps else ""
        )


class InstanceLocation(Frozen):
    """InstanceLocation is where an EC2 instance runs in EMR (ListInstances): its cluster, fleet, market and type."""

    cluster_id: str
    ec2_instance_id: str
    fleet_id: str | None = None
    group_id: str | None = None
    market: str = "SPOT"
    instance_type: str = ""


class NodeLabels(Frozen):
    """NodeLabels is where the cluster's YARN places ApplicationMasters, as its yarn-site configuration says.

    `am_label` is the node label AMs are pinned to (`yarn.node-labels.am.default-node-label-expression` with
    `yarn.node-labels.enabled`): CORE (EMR 5.19 and later by default, https://repost.aws/knowledge-center/
    emr-configure-node-labeling-yarn) or ON_DEMAND (EMR 7.2's AM label awareness). `unreadable` says why the
    configuration could not be read; the scaler then ignores labels, as it did before it knew of them.
    """

    am_label: str | None = None
    unreadable: str | None = None


class ClusterSnapshot(Frozen):
    """ClusterSnapshot is a cluster as EMR described it at `read_at`.

    An instance-group cluster has `groups`; an instance-fleet cluster has `fleets` (EMR answers
    ListInstanceGroups on it with InvalidRequestException).
    """

    cluster_id: str
    name: str
    state: ClusterState
    tags: dict[str, str] = Field(default_factory=dict)
    groups: tuple[InstanceGroupCapacity, ...] = ()
    master_private_dns: str | None = None
    read_at: datetime
    # Where EMR archives the cluster's logs (DescribeCluster LogUri, e.g. s3n://aws-logs-…/elasticmapreduce/).
    log_uri: str | None = None
    # How many steps run at once (DescribeCluster StepConcurrencyLevel, 1 to 256).
    step_concurrency_level: int = Field(default=1, ge=1)
    collection: InstanceCollection = InstanceCollection.INSTANCE_GROUP
    fleets: tuple[InstanceFleetCapacity, ...] = ()
    node_labels: NodeLabels = NodeLabels()

    @property
    def opted_in(self) -> bool:
        """Opted_in is true when the cluster carries `emr-autoscaler:enabled=true`."""
        return self.tags.get(OPT_IN_TAG, "").strip().lower() == "true"

    @property
    def profile_name(self) -> str | None:
        """Profile_name is the configuration profile the cluster asks for by tag, if any."""
        value = self.tags.get(PROFILE_TAG, "").strip()
        return value or None

    def group(self, group_id: str) -> InstanceGroupCapacity | None:
        """Group returns the instance group with this id, or None."""
        return next((g for g in self.groups if g.group_id == group_id), None)


class MetricsSource(StrEnum):
    """MetricsSource names where YARN metrics were read."""

    RESOURCE_MANAGER = "resourcemanager"
    CLOUDWATCH = "cloudwatch"


class YarnMetrics(Frozen):
    """YarnMetrics is the cluster's YARN load at `observed_at` (memory in MB, CPU in vcores).

    Fields a source does not report are None (CloudWatch has no vcore figures and no pending memory; the
    ResourceManager has no HDFS figures). `pending_memory_mb` may be an estimate; `pending_estimated` says so.

    `reserved_memory_mb`/`reserved_vcores` are what the scheduler holds on a node for a container that did not fit
    there yet (the RM's `reservedMB`/`reservedVirtualCores`, CloudWatch's `MemoryReservedMB`). Reserved memory is
    neither available nor allocated: under the CapacityScheduler, EMR's default, `totalMB = availableMB + allocatedMB
    + reservedMB`. The scaler counts it as in use (utilization) and as demand that waits (a reservation is a
    container that did not fit), never as free room.
    """

    source: MetricsSource
    observed_at: datetime
    apps_running: int
    apps_pending: int
    containers_allocated: int
    containers_pending: int
    allocated_memory_mb: int
    available_memory_mb: int
    total_memory_mb: int
    pending_memory_mb: int
    allocated_vcores: int | None = None
    available_vcores: int | None = None
    total_vcores: int | None = None
    pending_vcores: int | None = None
    active_nodes: int | None = None
    hdfs_utilization_pct: float | None = None
    pending_estimated: bool = False
    reserved_memory_mb: int = 0
    reserved_vcores: int | None = None
    # Memory pending in the partition of the label ApplicationMasters are pinned to (the RM's per-partition usage),
    # None when the source does not say (then pending AMs are counted from appsPending).
    am_pending_memory_mb: int | None = None

    @model_validator(mode="after")
    def _no_negative_counts(self) -> YarnMetrics:
        # Negative figures mean a broken source; they are refused here so the policy never reasons on them.
        for name in (
            "apps_running",
            "apps_pending",
            "containers_allocated",
            "containers_pending",
            "allocated_memory_mb",
            "available_memory_mb",
            "total_memory_mb",
            "pending_memory_mb",
            "allocated_vcores",
            "available_vcores",
            "total_vcores",
            "pending_vcores",
            "active_nodes",
            "reserved_memory_mb",
            "reserved_vcores",
            "am_pending_memory_mb",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} is negative ({value})")
        return self

    @property
    def demand_pending(self) -> bool:
        """Demand_pending is true when YARN is waiting for memory, vcores or containers (a reservation included)."""
        return (
            self.pending_memory_mb > 0
            or (self.pending_vcores or 0) > 0
            or self.containers_pending > 0
            or self.reserved_memory_mb > 0
        )

    @property
    def used_memory_mb(self) -> int:
        """Used_memory_mb is the memory no new container can have: allocated plus reserved (MB)."""
        return self.allocated_memory_mb + self.reserved_memory_mb

    @property
    def waiting_memory_mb(self) -> int:
        """Waiting_memory_mb is the memory YARN is waiting for (MB): the pending requests, or the reservations when
        they are larger (a reserved container's request stays pending in YARN, so the two are not added)."""
        return max(self.pending_memory_mb, self.reserved_memory_mb)

    @property
    def memory_utilization_pct(self) -> float:
        """Memory_utilization_pct is allocated plus reserved over total YARN memory, in percent (0 when total is 0)."""
        return 100.0 * self.used_memory_mb / self.total_memory_mb if self.total_memory_mb else 0.0

    @property
    def vcore_utilization_pct(self) -> float | None:
        """Vcore_utilization_pct is allocated plus reserved over total vcores, in percent, when the source reports
        vcores."""
        if self.allocated_vcores is None or not self.total_vcores:
            return None
        return 100.0 * (self.allocated_vcores + (self.reserved_vcores or 0)) / self.total_vcores

    @property
    def utilization_pct(self) -> float:
        """Utilization_pct is the binding (higher) of memory and vcore utilization, in percent."""
        vcores = self.vcore_utilization_pct
        return max(self.memory_utilization_pct, vcores if vcores is not None else 0.0)

    @property
    def idle(self) -> bool:
        """Idle is true when no application runs or waits and nothing is allocated."""
        return (
            self.apps_running == 0
            and self.apps_pending == 0
            and self.containers_allocated == 0
            and self.allocated_memory_mb == 0
            and not self.demand_pending
        )


class RegisteredCluster(Frozen):
    """RegisteredCluster is a watched cluster's registry entry."""

    cluster_id: str
    name: str
    profile: str | None = None
    state: str
    registered_at: datetime
