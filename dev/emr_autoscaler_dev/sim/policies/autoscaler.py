"""`autoscaler`: our core, unchanged, driven through simulator adapters every 60 s (the scheduled cadence)."""

from __future__ import annotations

from collections import Counter

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
    InstanceLocation,
    MetricsSource,
    NodeLabels,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import ReasonCode, ResizeInstanceFleet, ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.interruptions import plan_interruption
from emr_autoscaler.scaling.domain.plan import plan_resize
from emr_autoscaler_dev.sim.cluster import Node, SimCluster, SimGroup
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed, at, resourcemanager_metrics
from emr_autoscaler_dev.sim.policies.base import DEFAULT_DECOMMISSION_TIMEOUT_S, Bounds, GroupResize

CLUSTER_ID = "j-SIMULATED"


def _capacity(group: SimGroup) -> InstanceGroupCapacity:
    return InstanceGroupCapacity(
        group_id=group.group_id,
        name=group.name,
        role=group.role,
        instance_type=group.instance_type,
        state=GroupState.RUNNING if group.settled else GroupState.RESIZING,
        requested_count=group.requested,
        running_count=group.running_count,
    )


def _fleet(
    fleet_id: str, name: str, role: GroupRole, spot: SimGroup | None, on_demand: SimGroup | None, instance_type: str
) -> InstanceFleetCapacity:
    groups = [g for g in (spot, on_demand) if g is not None]
    return InstanceFleetCapacity(
        fleet_id=fleet_id,
        name=name,
        role=role,
        state=GroupState.RUNNING if all(g.settled for g in groups) else GroupState.RESIZING,
        target_on_demand=on_demand.requested if on_demand else 0,
        target_spot=spot.requested if spot else 0,
        provisioned_on_demand=on_demand.running_count if on_demand else 0,
        provisioned_spot=spot.running_count if spot else 0,
        # One unit per node: the simulator's nodes are all of one type.
        instance_types=(FleetInstanceType(instance_type=instance_type, weighted_capacity=1),),
    )


def fleet_snapshot_of(cluster: SimCluster, now_s: float) -> ClusterSnapshot:
    """Fleet_snapshot_of describes a Spot-TASK simulated cluster as the fleet adapter would: CORE and TASK fleets in
    units of one node, the TASK fleet's Spot and On-Demand sides being the simulator's two TASK groups."""
    kind = cluster.spec.instance_type
    return snapshot_of(cluster, now_s).model_copy(
        update={
            "groups": (),
            "collection": InstanceCollection.INSTANCE_FLEET,
            "fleets": (
                _fleet("if-master", "Master", GroupRole.MASTER, None, None, kind).model_copy(
                    update={"target_on_demand": 1, "provisioned_on_demand": 1}
                ),
                _fleet("if-core", "Core", GroupRole.CORE, None, cluster.core, kind),
                _fleet("if-task", "Task", GroupRole.TASK, cluster.task, cluster.task_od, kind),
            ),
        }
    )


def snapshot_of(cluster: SimCluster, now_s: float) -> ClusterSnapshot:
    """Snapshot_of describes the simulated cluster as the EMR adapter would (opted in, RUNNING, three groups)."""
    master = InstanceGroupCapacity(
        group_id="ig-master",
        name="Master",
        role=GroupRole.MASTER,
        instance_type=cluster.spec.instance_type,
        state=GroupState.RUNNING,
        requested_count=1,
        running_count=1,
    )
    return ClusterSnapshot(
        cluster_id=CLUSTER_ID,
        name="simulated",
        state=ClusterState.RUNNING,
        tags={OPT_IN_TAG: "true"},
        groups=(master, *(_capacity(g) for g in cluster.groups)),
        read_at=at(now_s),
        node_labels=NodeLabels(am_label=cluster.spec.am_label),
    )


class AutoscalerPolicy:
    """AutoscalerPolicy calls `plan_resize` with a configuration's policy and carries its ScalingState forward.

    Metrics come from the configured sources in order, the first that answers: the ResourceManager always
    answers in the simulator; CloudWatch answers once its first datapoint is visible.
    """

    name = "autoscaler"
    interval_s = 60.0

    def __init__(self, policy: ScalingPolicy) -> None:
        self.policy = policy
        self.state = ScalingState(cluster_id=CLUSTER_ID)
        self.reasons: Counter[ReasonCode] = Counter()
        # Spot nodes whose units were asked for on EC2's warning, before they were lost.
        self.replaced_in_advance = 0

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts starts at the configured minimum."""
        return bounds.core_min, bounds.task_min

    def _metrics(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> YarnMetrics | None:
        for source in self.policy.metrics.sources:
            if source is MetricsSource.RESOURCE_MANAGER:
                return resourcemanager_metrics(cluster, now_s)
            point = feed.latest(now_s)
            if point is not None:
                return point.yarn_metrics(self.policy.metrics.estimated_container_memory_mb)
        return None

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide runs the core once and turns its commands into resizes of the simulated groups."""
        if cluster.task_od is not None:
            return self._decide_fleets(cluster, feed, now_s)
        plan = plan_resize(
            snapshot_of(cluster, now_s), self._metrics(cluster, feed, now_s), self.policy, self.state, at(now_s)
        )
        self.reasons[plan.reason] += 1
        # The state store bumps the version on every committed write; the simulator is the only writer.
        self.state = plan.next_state.model_copy(update={"version": self.state.version + 1})
        groups = {g.group_id: g for g in cluster.groups}
        resizes: list[GroupResize] = []
        for command in plan.commands:
            group = groups[command.group_id]
            # The actuator refuses a command for a group that moved since the decision; nothing moves it here.
            if group.requested != command.from_count:
                continue
            timeout = command.decommission_timeout_s or DEFAULT_DECOMMISSION_TIMEOUT_S
            resizes.append(GroupResize(group, command.to_count, float(timeout)))
        return resizes

    def on_warning(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float, node: Node) -> list[GroupResize]:
        """On_warning is EC2's two-minute warning for `node` reaching the scaler: `plan_interruption` on the fleet
        path (an instance-group cluster is left to EMR's replenishment, as the scaler leaves it)."""
        if cluster.task_od is None:
            return []
        location = InstanceLocation(
            cluster_id=CLUSTER_ID,
            ec2_instance_id=f"i-{node.node_id:017x}",
            fleet_id="if-task",
            market="SPOT",
            instance_type=cluster.spec.instance_type,
        )
        snapshot, metrics = fleet_snapshot_of(cluster, now_s), self._metrics(cluster, feed, now_s)
        plan = plan_interruption(snapshot, metrics, self.policy, self.state, location, at(now_s))
        self.replaced_in_advance += plan.reason is ReasonCode.SCALE_REPLACE_INTERRUPTED
        return self._apply(plan, cluster)

    def _decide_fleets(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """The fleet path: `plan_fleet_resize` on the fleet view, each market's target a resize of its group."""
        assert cluster.task_od is not None
        plan = plan_fleet_resize(
            fleet_snapshot_of(cluster, now_s), self._metrics(cluster, feed, now_s), self.policy, self.state, at(now_s)
        )
        return self._apply(plan, cluster)

    def _apply(self, plan: ResizePlan, cluster: SimCluster) -> list[GroupResize]:
        """A fleet plan recorded (its reason counted, its state carried) and its commands as group resizes."""
        assert cluster.task_od is not None
        self.reasons[plan.reason] += 1
        self.state = plan.next_state.model_copy(update={"version": self.state.version + 1})
        resizes: list[GroupResize] = []
        for command in plan.commands:
            if not isinstance(command, ResizeInstanceFleet):
                continue
            timeout = float(command.decommission_timeout_s or DEFAULT_DECOMMISSION_TIMEOUT_S)
            if command.role is GroupRole.CORE:
                targets = [(cluster.core, command.to_on_demand)]
            else:
                targets = [(cluster.task_od, command.to_on_demand), (cluster.task, command.to_spot)]
            resizes.extend(GroupResize(g, n, timeout) for g, n in targets if g.requested != n)
        return resizes
