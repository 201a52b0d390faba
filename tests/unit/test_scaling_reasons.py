"""plan_resize, one named case per situation: every reason code it can emit, scale-out sizing, scale-in rules.

Each case is a difference from the healthy cluster the builders make (master, 2 CORE and 2 TASK m5.xlarge nodes,
opted in, RUNNING, fresh idle ResourceManager metrics, default policy, nothing remembered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.ids import OPT_IN_TAG
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    ClusterState,
    GroupRole,
    GroupState,
    InstanceCollection,
    InstanceLocation,
    MetricsSource,
    NodeLabels,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode, ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.guards import (
    hold_cluster_not_found,
    hold_cluster_unreadable,
    hold_config_invalid,
    hold_paused,
)
from emr_autoscaler.scaling.domain.interruptions import plan_interruption
from emr_autoscaler.scaling.domain.plan import plan_resize
from tests.unit.domain_builders import (
    CLUSTER_ID,
    CLUSTER_NAME,
    NODE_MB,
    NOW,
    ago,
    cloudwatch_metrics,
    core,
    fleet,
    fleet_snapshot,
    metrics,
    policy,
    snapshot,
    state,
    task,
)

# Decided before plan_resize runs (guards.hold_*: configuration, cluster lookup, pause switch) or by the service
# around it (a lost claim, a moved group); test_scaling_properties checks plan_resize never returns them.
SERVICE_LAYER_REASONS = frozenset(
    {
        ReasonCode.HOLD_CONFIG_INVALID,
        ReasonCode.HOLD_CLUSTER_NOT_FOUND,
        ReasonCode.HOLD_PAUSED,
        ReasonCode.HOLD_CLUSTER_UNREADABLE,
        # Decided around plan_resize by other_scalers.py (named cases in test_other_scalers.py).
        ReasonCode.HOLD_OTHER_SCALER,
        ReasonCode.HOLD_OTHER_SCALER_UNREADABLE,
        ReasonCode.SCALE_MANAGED_SCALING_LIMITS,
        ReasonCode.HOLD_MANAGED_SCALING_TUNED,
        ReasonCode.SKIPPED_ALREADY_DECIDED,
        ReasonCode.SKIPPED_GROUP_MOVED,
    }
)
CORE_SCALABLE = {"groups": {"core": {"min_nodes": 2, "max_nodes": 10, "scalable": True}}}
# The appsPending estimate is opt-in: only where the RM gives no partition figure and the profile sets an AM's size.
AM_ESTIMATE = {"node_labels": {"am_memory_mb": 2048}}


def _am_on(label: str | None = "CORE", unreadable: str | None = None) -> ClusterSnapshot:
    """A cluster (2 CORE, 2 TASK) whose yarn-site pins ApplicationMasters to `label`."""
    return snapshot().model_copy(update={"node_labels": NodeLabels(am_label=label, unreadable=unreadable)})


# Three applications wait for an AM on CORE; /ws/v1/cluster/metrics (default partition) shows nothing pending.
AMS_WAITING = {"allocated_mb": 4 * NODE_MB - 4096, "allocated_vcores": 12, "apps_pending": 3}
STABILIZED = {"low_utilization_since": ago(700)}


@dataclass(frozen=True)
class Case:
    """Case is one evaluation's inputs and what plan_resize must decide: a reason and (group id, to_count)s."""

    reason: ReasonCode
    commands: tuple[tuple[str, int], ...] = ()
    cluster: ClusterSnapshot = field(default_factory=snapshot)
    yarn: YarnMetrics | None = field(default_factory=metrics)
    scaling_policy: ScalingPolicy = field(default_factory=policy)
    memory: ScalingState = field(default_factory=state)
    interrupted: InstanceLocation | None = None


def _plan(case: Case) -> ResizePlan:
    # As the service does: a fleet cluster is decided by plan_fleet_resize (which asks plan_resize, in units).
    fleets = case.cluster.collection is InstanceCollection.INSTANCE_FLEET
    if fleets and case.interrupted is not None:
        return plan_interruption(case.cluster, case.yarn, case.scaling_policy, case.memory, case.interrupted, NOW)
    decide = plan_fleet_resize if fleets else plan_resize
    return decide(case.cluster, case.yarn, case.scaling_policy, case.memory, NOW)


RECLAIMED = InstanceLocation(
    cluster_id=CLUSTER_ID, ec2_instance_id="i-0abc1234def567890", fleet_id="if-TASK1", instance_type="m5.xlarge"
)


def _spot_short(minutes: float, **fields: Any) -> ScalingState:
    """The TASK fleet's Spot has been short for `minutes`."""
    return state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(minutes * 60), **fields),))


def _assert_decision(plan: ResizePlan, case: Case) -> None:
    assert plan.reason is case.reason, plan.explanation
    assert [(c.group_id, c.to_count) for c in plan.commands] == list(case.commands), plan.explanation
    assert plan.cluster_id == CLUSTER_ID
    assert plan.decided_at == NOW
    sentence = plan.explanation
    assert sentence[0].isupper(), sentence
    assert sentence.endswith("."), sentence
    assert CLUSTER_ID in sentence, sentence
    assert repr(CLUSTER_NAME) in sentence, sentence


REASON_CASES = [
    # --- instance fleets: Spot short, its fallback and give-back -----------------------------------------------
    pytest.param(
        Case(
            ReasonCode.SCALE_SPOT_FALLBACK,
            (("if-TASK1", 24),),
            cluster=fleet_snapshot(fleet(spot=24, provisioned_spot=8)),
            memory=_spot_short(16),
        ),
        id="16 Spot units missing for 16 min: asked of On-Demand",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_SPOT_SHORT,
            cluster=fleet_snapshot(fleet(on_demand=20, spot=24, provisioned_spot=8, state=GroupState.RESIZING)),
            memory=_spot_short(16),
        ),
        id="Spot short while EMR still asks, On-Demand already at its cap",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_SPOT_GIVE_BACK,
            (("if-TASK1", 40),),
            cluster=fleet_snapshot(fleet(on_demand=16, spot=8)),
            memory=state(fleets=(FleetMemory(fleet_id="if-TASK1", fallback_units=16, fallback_at=ago(1900)),)),
        ),
        id="30 min after a fallback, Spot is asked again",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_REPLACE_INTERRUPTED,
            (("if-TASK1", 12),),
            cluster=fleet_snapshot(),
            yarn=metrics(allocated_mb=4 * NODE_MB - 2048, allocated_vcores=12),
            interrupted=RECLAIMED,
        ),
        id="a busy cluster's Spot node is reclaimed in 2 min: its 4 units asked for now",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED, cluster=fleet_snapshot(), interrupted=RECLAIMED),
        id="an idle cluster's Spot node is reclaimed: EMR replenishes it, nothing asked",
    ),
    # --- acting -------------------------------------------------------------------------------------------------
    pytest.param(
        Case(ReasonCode.SCALE_OUT_PENDING_DEMAND, (("ig-TASK1", 5),), yarn=metrics(pending_mb=3 * NODE_MB)),
        id="pending memory for 3 nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 1),),
            cluster=snapshot(core(2), task(6)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB),
            memory=state(**STABILIZED),
        ),
        id="utilization 12% for longer than the window",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_IDLE,
            (("ig-TASK1", 0),),
            cluster=snapshot(core(2), task(3)),
            yarn=metrics(nodes=5),
            memory=state(**STABILIZED),
        ),
        id="idle for longer than the window",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_TO_LIMITS,
            (("ig-TASK1", 15),),
            cluster=snapshot(core(2), task(20)),
            yarn=metrics(nodes=22, allocated_mb=20 * NODE_MB, allocated_vcores=80),
            scaling_policy=policy(groups={"task": {"max_nodes": 12}}),
        ),
        id="ops lowered max below the group: shrink toward it by the step budget",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_TO_LIMITS,
            (("ig-TASK1", 3),),
            cluster=snapshot(core(2), task(1)),
            yarn=metrics(nodes=3, allocated_mb=NODE_MB),
            scaling_policy=policy(groups={"task": {"min_nodes": 3}}),
        ),
        id="ops raised min above the group: grow to it",
    ),
    # --- holds on the load --------------------------------------------------------------------------------------
    pytest.param(
        Case(ReasonCode.HOLD_STEADY, yarn=metrics(allocated_mb=30 * 1024), memory=state(**STABILIZED)),
        id="utilization 62%, no demand",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_STABILIZING, yarn=metrics(allocated_mb=4096)),
        id="first low reading starts the window",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_STABILIZING, yarn=metrics(allocated_mb=4096), memory=state(low_utilization_since=ago(599))
        ),
        id="low for 599 s of 600",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_COOLDOWN,
            yarn=metrics(pending_mb=NODE_MB),
            memory=state(last_scale_out_at=ago(30)),
        ),
        id="demand pending 30 s after a scale-out",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_COOLDOWN,
            cluster=snapshot(core(2), task(3)),
            yarn=metrics(nodes=5),
            memory=state(last_scale_in_at=ago(200), **STABILIZED),
        ),
        id="idle 200 s after a scale-in",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_COOLDOWN,
            cluster=snapshot(core(2), task(3)),
            yarn=metrics(nodes=5),
            memory=state(last_scale_out_at=ago(30), **STABILIZED),
        ),
        id="idle 30 s after a scale-out",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_AT_MAX, cluster=snapshot(core(2), task(20)), yarn=metrics(nodes=22, pending_mb=4096)),
        id="demand pending while at max",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AT_MAX,
            cluster=snapshot(core(2), task(12)),
            yarn=metrics(nodes=14, pending_mb=4096),
            scaling_policy=policy(groups={"task": {"min_nodes": 0, "max_nodes": 8}}),
        ),
        id="demand pending while above a lowered max",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AT_MIN,
            cluster=snapshot(core(2), task(0)),
            yarn=metrics(nodes=2),
            memory=state(**STABILIZED),
        ),
        id="idle with TASK at min",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AT_MIN,
            cluster=snapshot(core(2), task(2)),
            yarn=metrics(allocated_mb=4096),
            scaling_policy=policy(groups={"task": {"min_nodes": 2, "max_nodes": 20}}),
            memory=state(**STABILIZED),
        ),
        id="low utilization with TASK at min",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AT_MIN,
            cluster=snapshot(core(1), task(1)),
            yarn=metrics(nodes=2, allocated_mb=10_240, allocated_vcores=3),
            memory=state(**STABILIZED),
        ),
        id="utilization 42% of 2 nodes, one node less would pass the 80% target",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_HDFS_PROTECTED,
            cluster=snapshot(core(8)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=75),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrink with HDFS 75% used",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_HDFS_PROTECTED,
            cluster=snapshot(core(8)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=None),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrink with HDFS utilization unknown",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_HDFS_PROTECTED,
            cluster=snapshot(core(3)),
            yarn=metrics(nodes=3, allocated_mb=2048, hdfs_pct=5),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrink with 3 nodes and replication 3",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
            cluster=snapshot(core(2, instance_type="z9.custom"), task(2, instance_type="z9.custom")),
            yarn=metrics(total_mb=0, pending_mb=4096),
        ),
        id="demand pending, unknown instance type, YARN reports no memory",
    ),
    # --- holds on the inputs ------------------------------------------------------------------------------------
    pytest.param(Case(ReasonCode.HOLD_METRICS_MISSING, yarn=None), id="no metrics source answered"),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_STALE, yarn=metrics(pending_mb=4096, age_s=121)),
        id="ResourceManager metrics 121 s old, limit 120",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_STALE, yarn=cloudwatch_metrics(containers_pending=4, age_s=901)),
        id="CloudWatch metrics 901 s old, limit 900",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_STALE, yarn=metrics(pending_mb=4096, age_s=-61)),
        id="metrics from 61 s in the future",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_CONTRADICTORY, yarn=metrics(allocated_mb=60_000, available_mb=0)),
        id="allocated memory above total",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_CONTRADICTORY, yarn=metrics(allocated_mb=4096, available_mb=10_000)),
        id="allocated plus available far from total",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_CONTRADICTORY, yarn=metrics(allocated_mb=4096, allocated_vcores=17)),
        id="allocated vcores above total",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_CONTRADICTORY, yarn=metrics(containers_allocated=3)),
        id="containers allocated with 0 MB allocated",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_METRICS_CONTRADICTORY, yarn=metrics(total_mb=0, containers_allocated=2)),
        id="containers allocated on a cluster reporting no memory",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-CORE", 3),),
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING),
            scaling_policy=policy(**CORE_SCALABLE, **AM_ESTIMATE),
        ),
        id="AMs pinned to CORE wait (appsPending x am_memory_mb): CORE grows, not TASK",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_STEADY,
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="apps pending, no partition figure, no am_memory_mb: no guess, CORE not grown (a queue limit may hold them)",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 4), ("ig-CORE", 3)),
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING, pending_mb=2 * NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE, **AM_ESTIMATE),
        ),
        id="AMs pinned to CORE and executors wait: AMs grow CORE, executors TASK",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-CORE", 4),),
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING).model_copy(update={"am_pending_memory_mb": NODE_MB + 4096}),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="the CORE partition's own pending memory, when the RM reports it, sizes the AMs' growth",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING, pending_mb=NODE_MB),
        ),
        id="AMs pinned to CORE, CORE not scalable: executors still grow TASK, the AMs are said to wait",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AM_LABEL_NOT_SCALABLE,
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING),
            scaling_policy=policy(**AM_ESTIMATE),
        ),
        id="only AMs pinned to CORE wait and CORE is not scalable: TASK nodes would not start them",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            cluster=_am_on(None, unreadable="yarn.node-labels.enabled is 'maybe'"),
            yarn=metrics(**AMS_WAITING, pending_mb=NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="unreadable label configuration: labels ignored, as before",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            cluster=_am_on("CORE"),
            yarn=metrics(**AMS_WAITING, pending_mb=NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE, node_labels={"follow": False}),
        ),
        id="node_labels.follow off: labels ignored, as before",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 4),),
            yarn=metrics(
                allocated_mb=4 * NODE_MB - 8192, allocated_vcores=14, reserved_mb=8192, pending_mb=2 * NODE_MB
            ),
        ),
        id="saturated CapacityScheduler cluster with reservations: total = available + allocated + reserved",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            yarn=metrics(
                allocated_mb=4 * NODE_MB - 8192, allocated_vcores=14, reserved_mb=8192, available_mb=8192, pending_mb=0
            ),
        ),
        id="FairScheduler sum (total = available + allocated): a reservation alone is demand that waits",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_METRICS_CONTRADICTORY,
            yarn=metrics(allocated_mb=4096, reserved_mb=4096, available_mb=10_000),
        ),
        id="allocated plus available, with or without reserved, far from total",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            cluster=snapshot(core(2), task(2, state=GroupState.RESIZING)),
            yarn=metrics(pending_mb=4096),
        ),
        id="TASK group RESIZING: EMR takes a new count during a resize",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_CAPACITY_IN_FLIGHT,
            cluster=snapshot(core(2), task(2, requested=5, state=GroupState.RESIZING)),
            yarn=metrics(pending_mb=3 * NODE_MB),
        ),
        id="three TASK nodes starting cover three nodes of pending memory",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 7),),
            cluster=snapshot(core(2), task(2, requested=5, state=GroupState.RESIZING)),
            yarn=metrics(pending_mb=5 * NODE_MB),
        ),
        id="three TASK nodes starting, pending memory for five: two more",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_DEMAND_DRAINING,
            yarn=metrics(pending_mb=3 * NODE_MB),
            memory=state(backlog_kept=0.1, last_pending_mb=NODE_MB, last_read_at=ago(60)),
        ),
        id="backlogs here drain within a minute: no node for three nodes of pending memory",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 5),),
            yarn=metrics(pending_mb=3 * NODE_MB),
            memory=state(backlog_kept=0.1, last_pending_mb=NODE_MB, last_read_at=ago(60)),
            scaling_policy=policy(scale_out={"drain_trust_pct": 0}),
        ),
        id="drain trust 0: every pending MB counts whatever the history",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            yarn=metrics(pending_mb=2048),
            memory=state(backlog_kept=0.0, last_pending_mb=NODE_MB, last_read_at=ago(60)),
            scaling_policy=policy(scale_out={"drain_trust_pct": 0}),
        ),
        id="drain trust 0: one small pending container still gets a node, however fast backlogs drained",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 3),),
            yarn=metrics(pending_mb=2048),
            memory=state(backlog_kept=1.0, last_pending_mb=2048, last_read_at=ago(60)),
        ),
        id="a backlog that never drains: one small pending container gets a node",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_GROUP_NOT_SETTLED,
            cluster=snapshot(core(2, state=GroupState.RECONFIGURING), task(2)),
            yarn=metrics(pending_mb=4096),
        ),
        id="CORE reconfiguring while CORE scaling is off",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_CLUSTER_NOT_ACTIVE, cluster=snapshot(state=ClusterState.STARTING)),
        id="cluster STARTING",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_CLUSTER_NOT_ACTIVE, cluster=snapshot(state=ClusterState.TERMINATING)),
        id="cluster TERMINATING",
    ),
    pytest.param(Case(ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN, cluster=snapshot(tags={})), id="no opt-in tag"),
    pytest.param(
        Case(ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN, cluster=snapshot(tags={OPT_IN_TAG: "false"})),
        id="opt-in tag false",
    ),
    pytest.param(
        Case(ReasonCode.HOLD_NO_SCALABLE_GROUP, cluster=snapshot(core(4)), yarn=metrics(pending_mb=4096)),
        id="CORE only and CORE scaling off",
    ),
]


@pytest.mark.parametrize("case", REASON_CASES)
def test_plan_resize_reason(case: Case) -> None:
    # GIVEN the case's cluster, metrics, policy and state
    # WHEN the planner decides
    plan = _plan(case)

    # THEN it gives the expected reason and commands, and explains itself naming the cluster
    _assert_decision(plan, case)
    assert plan.acts is case.reason.acts


def test_every_reason_plan_resize_emits_has_a_named_case() -> None:
    # GIVEN the reason codes in the table
    tabled = {param.values[0].reason for param in REASON_CASES}

    # WHEN compared with every reason code plan_resize can emit
    expected = set(ReasonCode) - SERVICE_LAYER_REASONS

    # THEN none is missing (a new code needs a case here)
    assert expected - tabled == set()
    assert tabled & SERVICE_LAYER_REASONS == set()


# --- scale-out sizing ---------------------------------------------------------------------------------------------

SCALE_OUT_CASES = [
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND, (("ig-TASK1", 5),), yarn=metrics(pending_mb=30_000, pending_vcores=1)
        ),
        id="memory binds: 30000 MB over 12288 MB nodes is 3",
    ),
    pytest.param(
        Case(ReasonCode.SCALE_OUT_PENDING_DEMAND, (("ig-TASK1", 5),), yarn=metrics(pending_mb=2048, pending_vcores=10)),
        id="vcores bind: 10 vcores over 4-vcore nodes is 3",
    ),
    pytest.param(
        Case(ReasonCode.SCALE_OUT_PENDING_DEMAND, (("ig-TASK1", 3),), yarn=metrics(pending_mb=0, pending_vcores=2)),
        id="vcores alone: 2 vcores is 1 node",
    ),
    pytest.param(
        Case(ReasonCode.SCALE_OUT_PENDING_DEMAND, (("ig-TASK1", 12),), yarn=metrics(pending_mb=30 * NODE_MB)),
        id="bounded by max_step_nodes 10",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 5),),
            yarn=metrics(pending_mb=30 * NODE_MB),
            scaling_policy=policy(scale_out={"max_step_nodes": 3}),
        ),
        id="bounded by max_step_nodes 3",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 20),),
            cluster=snapshot(core(2), task(18)),
            yarn=metrics(nodes=20, pending_mb=5 * NODE_MB),
        ),
        id="bounded by the group's max_nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-A", 20), ("ig-B", 5)),
            cluster=snapshot(core(2), task(2, "ig-B", name="b-spot"), task(19, "ig-A", name="a-ondemand")),
            yarn=metrics(nodes=23, pending_mb=4 * NODE_MB),
        ),
        id="spills to the next TASK group (by name) when the first reaches max",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 5),),
            yarn=metrics(pending_mb=3 * NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="TASK before CORE",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 20), ("ig-CORE", 4)),
            cluster=snapshot(core(2), task(18)),
            yarn=metrics(nodes=20, pending_mb=4 * NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="CORE after TASK reaches max, when core.scalable",
    ),
    pytest.param(
        Case(
            ReasonCode.HOLD_AT_MAX,
            cluster=snapshot(core(2), task(20)),
            yarn=metrics(nodes=22, pending_mb=4 * NODE_MB),
        ),
        id="CORE untouched when TASK is at max and core not scalable",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-CORE", 5),),
            cluster=snapshot(core(2)),
            yarn=metrics(nodes=2, pending_mb=3 * NODE_MB),
            scaling_policy=policy(**CORE_SCALABLE),
        ),
        id="CORE-only cluster with core.scalable",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 6),),
            yarn=metrics(pending_mb=4 * 6144),
            scaling_policy=policy(node_capacity={"m5.xlarge": {"memory_mb": 6144, "vcores": 2}}),
        ),
        id="configured node_capacity overrides YARN's figure",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 4),),
            cluster=snapshot(core(2, instance_type="z9.custom"), task(2, instance_type="z9.custom")),
            yarn=metrics(pending_mb=2 * NODE_MB),
        ),
        id="unknown instance type sized from YARN's per-node memory",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 4),),
            yarn=metrics(total_mb=0, pending_mb=2 * NODE_MB),
        ),
        id="no YARN memory reported: EMR default for m5.xlarge",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 4),),
            yarn=cloudwatch_metrics(containers_pending=10),
        ),
        id="CloudWatch: 10 pending containers of 2048 MB is 2 nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_OUT_PENDING_DEMAND,
            (("ig-TASK1", 6),),
            yarn=cloudwatch_metrics(containers_pending=10),
            scaling_policy=policy(metrics={"estimated_container_memory_mb": 4096}),
        ),
        id="CloudWatch: estimated_container_memory_mb 4096 makes it 4 nodes",
    ),
]


@pytest.mark.parametrize("case", SCALE_OUT_CASES)
def test_scale_out_sizing(case: Case) -> None:
    # GIVEN pending demand
    # WHEN the planner decides
    plan = _plan(case)

    # THEN it adds what the binding resource needs, within the step budget and max_nodes, TASK first
    _assert_decision(plan, case)
    assert all(c.from_count < c.to_count and c.decommission_timeout_s is None for c in plan.commands)


def test_scale_out_records_when_and_resets_the_low_utilization_window() -> None:
    # GIVEN a cluster that was low for a while, then has pending demand
    memory = state(low_utilization_since=ago(300), last_scale_in_at=ago(3600))

    # WHEN the planner decides
    plan = plan_resize(snapshot(), metrics(pending_mb=NODE_MB), policy(), memory, NOW)

    # THEN it scales out, remembers when, and forgets the low-utilization window
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert plan.next_state.last_scale_out_at == NOW
    assert plan.next_state.last_scale_in_at == ago(3600)
    assert plan.next_state.low_utilization_since is None


# --- scale-in -----------------------------------------------------------------------------------------------------

SCALE_IN_CASES = [
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 1),),
            cluster=snapshot(core(2), task(6)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB),
            memory=state(low_utilization_since=ago(600)),
        ),
        id="low for exactly the window",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 3),),
            cluster=snapshot(core(2), task(6)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB),
            scaling_policy=policy(scale_in={"max_step_nodes": 3}),
            memory=state(**STABILIZED),
        ),
        id="bounded by scale_in.max_step_nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 2),),
            cluster=snapshot(core(2), task(6)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB),
            scaling_policy=policy(groups={"task": {"min_nodes": 2, "max_nodes": 20}}),
            memory=state(**STABILIZED),
        ),
        id="bounded by the group's min_nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 3),),
            cluster=snapshot(core(2), task(6)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, containers_allocated=6, allocated_vcores=14),
            memory=state(**STABILIZED),
        ),
        id="vcores bind: 14 of 32 vcores used leaves room for 3 nodes at 80%",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-CORE", 3),),
            cluster=snapshot(core(8)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=20),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrinks when HDFS has room",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-CORE", 5),),
            cluster=snapshot(core(8)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=40),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrink limited so the blocks left fit under 70% (40% x 8/5 = 64%)",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-CORE", 3),),
            cluster=snapshot(core(4)),
            yarn=metrics(nodes=4, allocated_mb=4096, hdfs_pct=10),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="CORE shrink limited by replication factor 3",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_LOW_UTILIZATION,
            (("ig-TASK1", 0),),
            cluster=snapshot(core(6), task(2)),
            yarn=metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=None),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="TASK shrinks while HDFS (unknown) keeps CORE",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_IDLE,
            (("ig-TASK1", 1),),
            cluster=snapshot(core(2), task(4)),
            yarn=metrics(nodes=6),
            scaling_policy=policy(groups={"task": {"min_nodes": 1, "max_nodes": 20}}),
            memory=state(**STABILIZED),
        ),
        id="idle: TASK to its min_nodes",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_IDLE,
            (("ig-A", 0), ("ig-B", 0)),
            cluster=snapshot(core(2), task(3, "ig-B", name="b"), task(3, "ig-A", name="a")),
            yarn=metrics(nodes=8),
            memory=state(**STABILIZED),
        ),
        id="idle: every empty TASK node goes at once, past the step budget",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_IDLE,
            (("ig-A", 0), ("ig-B", 1)),
            cluster=snapshot(core(2), task(3, "ig-B", name="b"), task(3, "ig-A", name="a")),
            yarn=metrics(nodes=8),
            memory=state(**STABILIZED, demand_peak_mb=2 * NODE_MB, demand_peak_at=ago(120)),
        ),
        id="idle, but two nodes of demand came two minutes ago: room for it at 80% stays (3 of 8 nodes)",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_IN_IDLE,
            (("ig-TASK1", 0),),
            cluster=snapshot(core(6), task(2)),
            yarn=metrics(nodes=8, hdfs_pct=1),
            scaling_policy=policy(**CORE_SCALABLE),
            memory=state(**STABILIZED),
        ),
        id="idle: CORE left alone even when scalable",
    ),
    pytest.param(
        Case(
            ReasonCode.SCALE_TO_LIMITS,
            (("ig-TASK1", 8),),
            cluster=snapshot(core(2), task(12)),
            yarn=metrics(nodes=14),
            scaling_policy=policy(groups={"task": {"min_nodes": 0, "max_nodes": 8}}),
            memory=state(**STABILIZED),
        ),
        id="idle above a lowered max: into the limits first, idle scale-in after the cooldown",
    ),
]


@pytest.mark.parametrize("case", SCALE_IN_CASES)
def test_scale_in(case: Case) -> None:
    # GIVEN no pending demand and low utilization since before the stabilization window
    # WHEN the planner decides
    plan = _plan(case)

    # THEN it shrinks within min_nodes, the step budget and HDFS's needs, gracefully
    _assert_decision(plan, case)
    assert all(c.from_count > c.to_count for c in plan.commands)
    assert all(c.decommission_timeout_s == case.scaling_policy.scale_in.decommission_timeout_s for c in plan.commands)
    assert plan.next_state.last_scale_in_at == NOW
    assert [c for c in plan.checks if not c.passed] == []


@pytest.mark.parametrize(
    ("cluster", "yarn", "passed", "detail"),
    [
        pytest.param(
            snapshot(core(6), task(2)),
            metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=None),
            True,
            "HDFS utilization unknown from this metrics source: 0 of 4 CORE node(s) may go",
            id="TASK acts, CORE kept",
        ),
        pytest.param(
            snapshot(core(8)),
            metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=40),
            True,
            "HDFS 40% used, replication 3: 3 of 5 CORE node(s) may go",
            id="CORE shrink limited",
        ),
        pytest.param(
            snapshot(core(8)),
            metrics(nodes=8, allocated_mb=NODE_MB, hdfs_pct=75),
            False,
            "HDFS 75% used, above 70%: 0 of 5 CORE node(s) may go",
            id="CORE shrink vetoed",
        ),
    ],
)
def test_hdfs_check_fails_only_when_it_stops_the_plan(
    cluster: ClusterSnapshot, yarn: YarnMetrics, passed: bool, detail: str
) -> None:
    # GIVEN a low-utilization cluster whose CORE group HDFS limits
    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy(**CORE_SCALABLE), state(**STABILIZED), NOW)

    # THEN the hdfs_safe check says how many CORE nodes may go, and fails only when nothing is done
    hdfs = [c for c in plan.checks if c.name == "hdfs_safe"]
    assert [(c.passed, c.detail) for c in hdfs] == [(passed, detail)]
    assert plan.acts is passed


def test_scale_in_is_graceful_with_the_configured_timeout() -> None:
    # GIVEN a profile with a 15-minute decommission timeout
    tuned = policy(scale_in={"decommission_timeout_s": 900})

    # WHEN an idle, stabilized cluster is planned
    plan = plan_resize(snapshot(core(2), task(3)), metrics(nodes=5), tuned, state(**STABILIZED), NOW)

    # THEN the shrink carries that timeout
    assert [c.decommission_timeout_s for c in plan.commands] == [900]


def test_scale_in_starts_the_window_on_the_first_low_reading() -> None:
    # GIVEN a low-utilization reading and no window running
    # WHEN the planner decides
    plan = plan_resize(snapshot(core(2), task(6)), metrics(nodes=8, allocated_mb=NODE_MB), policy(), state(), NOW)

    # THEN it holds and remembers that utilization went low now
    assert plan.reason is ReasonCode.HOLD_STABILIZING
    assert plan.next_state.low_utilization_since == NOW


def test_steady_load_ends_the_window() -> None:
    # GIVEN a window running, then utilization back above the threshold
    memory = state(low_utilization_since=ago(500))

    # WHEN the planner decides
    plan = plan_resize(snapshot(), metrics(allocated_mb=30 * 1024), policy(), memory, NOW)

    # THEN it holds and forgets the window
    assert plan.reason is ReasonCode.HOLD_STEADY
    assert plan.next_state.low_utilization_since is None


@pytest.mark.parametrize(
    "yarn",
    [
        pytest.param(metrics(nodes=8, allocated_mb=NODE_MB, pending_mb=2048), id="pending memory"),
        pytest.param(metrics(nodes=8, allocated_mb=NODE_MB, pending_vcores=1), id="pending vcores"),
        pytest.param(metrics(nodes=8, allocated_mb=NODE_MB, containers_pending=1), id="pending containers"),
        pytest.param(cloudwatch_metrics(nodes=8, containers_pending=1), id="CloudWatch pending containers"),
    ],
)
def test_never_scales_in_while_demand_is_pending(yarn: YarnMetrics) -> None:
    # GIVEN low utilization for longer than the window, but something waiting in YARN, and TASK at max
    cluster = snapshot(core(2), task(6))
    lowered = policy(groups={"task": {"min_nodes": 0, "max_nodes": 6}})

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, lowered, state(**STABILIZED), NOW)

    # THEN it does not shrink, and the window restarts
    assert plan.reason is ReasonCode.HOLD_AT_MAX
    assert plan.commands == ()
    assert plan.next_state.low_utilization_since is None


@pytest.mark.parametrize(
    ("memory", "reason"),
    [
        pytest.param(
            state(last_scale_out_at=ago(59)), ReasonCode.HOLD_COOLDOWN, id="59 s after scale-out, cooldown 60"
        ),
        pytest.param(state(last_scale_out_at=ago(60)), ReasonCode.SCALE_OUT_PENDING_DEMAND, id="60 s after scale-out"),
    ],
)
def test_scale_out_cooldown(memory: ScalingState, reason: ReasonCode) -> None:
    # GIVEN pending demand and a recent scale-out
    # WHEN the planner decides
    plan = plan_resize(snapshot(), metrics(pending_mb=NODE_MB), policy(), memory, NOW)

    # THEN it waits out scale_out.cooldown_s, then acts
    assert plan.reason is reason


@pytest.mark.parametrize(
    ("memory", "reason"),
    [
        pytest.param(
            state(last_scale_in_at=ago(299), **STABILIZED), ReasonCode.HOLD_COOLDOWN, id="299 s, cooldown 300"
        ),
        pytest.param(state(last_scale_in_at=ago(300), **STABILIZED), ReasonCode.SCALE_IN_IDLE, id="300 s"),
        pytest.param(
            state(last_scale_out_at=ago(59), **STABILIZED), ReasonCode.HOLD_COOLDOWN, id="59 s after a scale-out"
        ),
    ],
)
def test_scale_in_cooldown(memory: ScalingState, reason: ReasonCode) -> None:
    # GIVEN an idle, stabilized cluster and a recent resize
    # WHEN the planner decides
    plan = plan_resize(snapshot(core(2), task(3)), metrics(nodes=5), policy(), memory, NOW)

    # THEN it waits out the cooldown, then acts
    assert plan.reason is reason


def test_cooldown_hold_keeps_the_window_running() -> None:
    # GIVEN an idle, stabilized cluster during a scale-in cooldown
    memory = state(last_scale_in_at=ago(100), low_utilization_since=ago(900))

    # WHEN the planner decides
    plan = plan_resize(snapshot(core(2), task(3)), metrics(nodes=5), policy(), memory, NOW)

    # THEN it holds without forgetting when utilization went low (it only learns the demand peak from the read)
    assert plan.reason is ReasonCode.HOLD_COOLDOWN
    assert plan.next_state.low_utilization_since == memory.low_utilization_since
    assert plan.next_state.last_scale_in_at == memory.last_scale_in_at
    assert (plan.next_state.demand_peak_mb, plan.next_state.demand_peak_at) == (0, NOW)


@pytest.mark.parametrize(
    "yarn",
    [
        pytest.param(metrics(pending_mb=4096, age_s=120), id="ResourceManager at its 120 s limit"),
        pytest.param(metrics(pending_mb=4096, age_s=-60), id="60 s in the future (clock skew)"),
        pytest.param(cloudwatch_metrics(containers_pending=2, age_s=900), id="CloudWatch at its 900 s limit"),
        pytest.param(cloudwatch_metrics(containers_pending=2, age_s=300), id="CloudWatch 300 s old"),
    ],
)
def test_metrics_within_their_source_max_age_are_used(yarn: YarnMetrics) -> None:
    # GIVEN metrics as old as their source allows
    # WHEN the planner decides
    plan = plan_resize(snapshot(), yarn, policy(), state(), NOW)

    # THEN it acts on them
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND


def test_stale_limit_is_per_source_and_configurable() -> None:
    # GIVEN ResourceManager metrics 100 s old and a profile that allows 60 s
    tight = policy(metrics={"resourcemanager_max_age_s": 60})

    # WHEN the planner decides
    plan = plan_resize(snapshot(), metrics(pending_mb=4096, age_s=100), tight, state(), NOW)

    # THEN it holds, naming the source and the limit
    assert plan.reason is ReasonCode.HOLD_METRICS_STALE
    assert MetricsSource.RESOURCE_MANAGER.value in plan.explanation
    assert "60 s" in plan.explanation


def test_hold_records_the_failed_check_and_stops_there() -> None:
    # GIVEN a cluster that has not opted in and has no metrics either
    # WHEN the planner decides
    plan = plan_resize(snapshot(tags={}), None, policy(), state(), NOW)

    # THEN only the first guard ran, and it failed
    assert [(c.name, c.passed) for c in plan.checks] == [("opted_in", False)]
    assert plan.next_state == state()


def test_master_group_is_never_resized() -> None:
    # GIVEN a cluster whose only non-master group is CORE, with CORE scaling on
    cluster = snapshot(core(2))

    # WHEN demand is pending
    plan = plan_resize(cluster, metrics(nodes=2, pending_mb=NODE_MB), policy(**CORE_SCALABLE), state(), NOW)

    # THEN only CORE grows
    assert [c.role for c in plan.commands] == [GroupRole.CORE]


@pytest.mark.parametrize(
    "yarn",
    [
        pytest.param(None, id="missing"),
        pytest.param(metrics(allocated_mb=4096, age_s=600), id="stale"),
        pytest.param(metrics(allocated_mb=4096, available_mb=0, total_mb=1024), id="contradictory"),
    ],
)
def test_metrics_outage_restarts_the_stabilization_window(yarn: YarnMetrics | None) -> None:
    # GIVEN utilization had been low for 9 minutes, then the metrics become untrustworthy
    memory = state(low_utilization_since=ago(540))
    # WHEN the scaler holds on them
    plan = plan_resize(snapshot(), yarn, policy(), memory, NOW)
    # THEN nobody saw utilization stay low meanwhile: the window starts over at the next good reading
    assert not plan.acts
    assert plan.next_state.low_utilization_since is None


def test_group_above_a_lowered_max_waits_while_demand_is_pending() -> None:
    # GIVEN a TASK group above a lowered max, while YARN waits for capacity
    cluster = snapshot(core(2), task(20))
    yarn = metrics(nodes=22, allocated_mb=22 * NODE_MB, allocated_vcores=88, pending_mb=4 * NODE_MB)
    # WHEN planned
    plan = plan_resize(cluster, yarn, policy(groups={"task": {"max_nodes": 12}}), state(), NOW)
    # THEN it does not shrink while demand is pending (nor grow past max): it holds at max
    assert plan.reason is ReasonCode.HOLD_AT_MAX
    assert not plan.commands


def test_scaling_to_limits_respects_the_cooldown() -> None:
    # GIVEN a group below a raised min, right after a scale-out
    plan = plan_resize(
        snapshot(core(2), task(1)),
        metrics(nodes=3, allocated_mb=NODE_MB),
        policy(groups={"task": {"min_nodes": 3}}),
        state(last_scale_out_at=ago(10)),
        NOW,
    )
    # WHEN planned, THEN it waits for the cooldown
    assert plan.reason is ReasonCode.HOLD_COOLDOWN


@pytest.mark.parametrize(
    ("decide", "reason", "sentence"),
    [
        pytest.param(
            lambda: hold_cluster_not_found("j-GONE", NOW),
            ReasonCode.HOLD_CLUSTER_NOT_FOUND,
            "Holding j-GONE: EMR does not know it.",
            id="cluster unknown",
        ),
        pytest.param(
            lambda: hold_config_invalid("j-ABC", NOW, "defaults.scale_out.cooldown_s: must be >= 0"),
            ReasonCode.HOLD_CONFIG_INVALID,
            "Holding j-ABC: no valid configuration has been read yet (defaults.scale_out.cooldown_s: must be >= 0).",
            id="no valid configuration",
        ),
        pytest.param(
            lambda: hold_cluster_unreadable(snapshot(), state(), NOW, "ListInstanceGroups refused: fleets"),
            ReasonCode.HOLD_CLUSTER_UNREADABLE,
            "the scaler cannot read its capacity (ListInstanceGroups refused: fleets).",
            id="capacity unreadable",
        ),
        pytest.param(
            lambda: hold_paused(snapshot(), NOW, "tag emr-autoscaler:mode"),
            ReasonCode.HOLD_PAUSED,
            "paused by its tag emr-autoscaler:mode; it is neither evaluated nor resized until the mode changes.",
            id="paused",
        ),
    ],
)
def test_early_holds_are_decided_in_the_domain(decide: Any, reason: ReasonCode, sentence: str) -> None:
    # GIVEN what the service learns before any metrics are read (the cluster is unknown, no configuration, paused)
    # WHEN the domain decides
    plan = decide()
    # THEN it holds with its own reason code and a sentence saying why, with no command and a fresh state
    assert plan.reason is reason
    assert plan.explanation.endswith(sentence)
    assert plan.commands == ()
    assert not plan.acts
    assert plan.decided_at == NOW
