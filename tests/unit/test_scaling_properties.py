"""Properties of plan_resize over generated clusters, metrics, policies and states (hypothesis).

The generators lean towards inputs that pass the guards, so that most examples reach the sizing code, but they
also produce groups outside their limits (ops lowered max_nodes or raised min_nodes), unsettled groups, stale,
future and incoherent metrics. A second, narrower generator aims at the CORE shrink and its HDFS limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emr_autoscaler.kernel.config.scaling import GroupLimits, ScalingPolicy
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    ClusterState,
    GroupRole,
    GroupState,
    InstanceGroupCapacity,
    MetricsSource,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import Direction, ReasonCode, ResizeInstanceGroup, ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.plan import plan_resize
from tests.unit.domain_builders import CLUSTER_ID, NOW, group, master, snapshot
from tests.unit.test_scaling_reasons import SERVICE_LAYER_REASONS

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)
INSTANCE_TYPES = ("m5.xlarge", "r5.xlarge", "c5.xlarge", "z9.custom")
SELDOM = st.sampled_from([False] * 19 + [True])


@st.composite
def _mostly(draw: st.DrawFn, value: Any, others: st.SearchStrategy[Any]) -> Any:
    """Mostly (19 in 20) `value`, sometimes anything from `others`."""
    return draw(others) if draw(SELDOM) else value


def _seconds_ago(max_s: int) -> st.SearchStrategy[datetime | None]:
    return st.one_of(st.none(), st.integers(0, max_s).map(lambda s: NOW - timedelta(seconds=s)))


# Strategies are built once: hypothesis validates every new strategy object, which dominates the run time.
COUNTS = st.integers(0, 25)
COUNT_KINDS = st.sampled_from(["within", "within", "within", "at an end", "anywhere"])
GROUP_NAMES = st.sampled_from(["spot", "ondemand", "burst", "core"])
TYPES = st.sampled_from(INSTANCE_TYPES)
GROUP_STATES = st.sampled_from(GroupState)
CLUSTER_STATES = _mostly(ClusterState.RUNNING, st.sampled_from(ClusterState))
TAGS = _mostly({"emr-autoscaler:enabled": "true"}, st.sampled_from([{}, {"emr-autoscaler:enabled": "no"}]))
PERCENT = st.floats(0, 100, allow_nan=False)
FRACTION = st.floats(0, 1, allow_nan=False)
HDFS_PCT = st.one_of(st.none(), PERCENT)
AGE_S = _mostly(5, st.integers(-90, 1200))
FRESH_AGE_S = _mostly(5, st.integers(-90, 60))
SOURCES = st.sampled_from(MetricsSource)
ALLOCATED_FRACTION = st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.7, 0.95, 1.0])
MAYBE_VCORES = st.one_of(st.none(), st.integers(0, 400))
MAYBE_NODES = st.one_of(st.none(), st.integers(0, 60))
NODE_MB = st.sampled_from([6144, 12288, 24576])
METRICS_KINDS = st.sampled_from(["coherent"] * 8 + ["raw", "none"])
LAST_SCALE_OUT = st.sampled_from([False, False, True]).flatmap(
    lambda recent: _seconds_ago(900) if recent else st.none()
)
LAST_SCALE_IN = st.sampled_from([False, False, True]).flatmap(
    lambda recent: _seconds_ago(1200) if recent else st.none()
)
LOW_SINCE = _mostly(NOW - timedelta(seconds=3600), _seconds_ago(1200))
ESTIMATED_CONTAINER_MB = st.sampled_from([1024, 2048, 4096, 8192])
OVERRIDE_MB = st.sampled_from([4096, 12288, 30000])
# CORE scaling is the riskier path (HDFS), so it is switched on in most generated policies.
MOSTLY_TRUE = st.sampled_from([False, True, True])
# Drawn from lists rather than ranges: hypothesis favours the small end of a range, which would make most
# groups sit at min_nodes with max_nodes == min_nodes.
LIMIT_SPANS = st.sampled_from([0, 1, 3, 6, 10, 16])
SPAN_POSITIONS = st.sampled_from([0.2, 0.4, 0.5, 0.6, 0.8])
HDFS_LEVELS = st.sampled_from([None, 0.0, 10.0, 30.0, 50.0, 69.0, 85.0])


@st.composite
def _limits(draw: st.DrawFn, *, scalable: bool | None = None) -> dict[str, Any]:
    low = draw(st.integers(0, 8))
    high = low + draw(LIMIT_SPANS)
    return {"min_nodes": low, "max_nodes": high, "scalable": draw(MOSTLY_TRUE) if scalable is None else scalable}


TASK_LIMITS = _limits(scalable=True)
CORE_LIMITS = _limits()


@st.composite
def policies(draw: st.DrawFn, *, core_always_scalable: bool = False) -> ScalingPolicy:
    """A valid ScalingPolicy with every threshold drawn from its allowed range."""
    threshold = draw(st.floats(0, 95, allow_nan=False))
    target = max(threshold, 1.0) + draw(FRACTION) * (100 - max(threshold, 1.0))
    overrides: dict[str, Any] = {
        "metrics": {"estimated_container_memory_mb": draw(ESTIMATED_CONTAINER_MB)},
        "scale_out": {"max_step_nodes": draw(st.integers(1, 12)), "cooldown_s": draw(st.integers(0, 600))},
        "scale_in": {
            "utilization_threshold_pct": threshold,
            "target_utilization_pct": target,
            "stabilization_window_s": draw(st.integers(1, 900)),
            "max_step_nodes": draw(st.integers(1, 6)),
            "cooldown_s": draw(st.integers(0, 900)),
        },
        "groups": {"task": draw(TASK_LIMITS), "core": draw(TASK_LIMITS if core_always_scalable else CORE_LIMITS)},
        "hdfs": {
            "max_utilization_pct": max(1.0, draw(PERCENT)),
            "replication_factor": draw(st.integers(1, 4)),
        },
    }
    if draw(st.booleans()):
        overrides["node_capacity"] = {
            draw(TYPES): {
                "memory_mb": draw(OVERRIDE_MB),
                "vcores": draw(st.integers(1, 16)),
            }
        }
    return ScalingPolicy.model_validate(overrides)


@st.composite
def groups(draw: st.DrawFn, policy: ScalingPolicy, *, settled: bool = False) -> tuple[InstanceGroupCapacity, ...]:
    """A CORE group and 1-3 TASK groups, mostly all settled, counts mostly within the policy's limits (often at
    one end), sometimes anywhere in 0-25: outside the limits, as after ops lowered max_nodes or raised min_nodes.
    """

    changing = not settled and draw(SELDOM)

    def one(group_id: str, role: GroupRole) -> InstanceGroupCapacity:
        limits = policy.groups.task if role is GroupRole.TASK else policy.groups.core
        where = draw(COUNT_KINDS)
        if where == "anywhere":
            running = draw(COUNTS)
        elif where == "at an end":
            running = draw(st.sampled_from([limits.min_nodes, limits.max_nodes]))
        else:
            span = limits.max_nodes - limits.min_nodes
            running = limits.min_nodes + round(span * draw(SPAN_POSITIONS))
        return group(
            group_id,
            role=role,
            count=running,
            requested=draw(COUNTS) if changing and draw(st.booleans()) else running,
            name=draw(GROUP_NAMES),
            instance_type=draw(TYPES),
            state=draw(GROUP_STATES) if changing else GroupState.RUNNING,
        )

    tasks = [one(f"ig-TASK{i}", GroupRole.TASK) for i in range(draw(st.integers(1, 3)))]
    return (master(), one("ig-CORE", GroupRole.CORE), *tasks)


@st.composite
def snapshots(draw: st.DrawFn, policy: ScalingPolicy) -> ClusterSnapshot:
    """An EMR cluster for this policy, mostly opted in and RUNNING or WAITING."""
    cluster = snapshot(
        *draw(groups(policy))[1:],
        state=draw(CLUSTER_STATES),
        tags=draw(TAGS),
    )
    return cluster


def _nodes(cluster: ClusterSnapshot) -> int:
    return sum(g.running_count for g in cluster.groups if g.role is not GroupRole.MASTER)


@dataclass(frozen=True)
class Load:
    """Load is what YARN sees, independent of the cluster's size: how full it is and what waits."""

    allocated_fraction: float
    pending_mb: int
    pending_vcores: int
    containers_pending: int
    hdfs_pct: float | None
    source: MetricsSource
    age_s: int

    def metrics(self, nodes: int, at: datetime, node_mb: int = 12288, node_vcores: int = 4) -> YarnMetrics:
        """Metrics is a coherent reading of this load on `nodes` nodes of `node_mb` MB, observed `age_s` before `at`."""
        total_mb = nodes * node_mb
        allocated_mb = int(total_mb * self.allocated_fraction)
        containers = allocated_mb // 2048
        rm = self.source is MetricsSource.RESOURCE_MANAGER
        return YarnMetrics(
            source=self.source,
            observed_at=at - timedelta(seconds=self.age_s),
            apps_running=1 if containers else 0,
            apps_pending=1 if self.containers_pending else 0,
            containers_allocated=containers,
            containers_pending=self.containers_pending,
            allocated_memory_mb=containers * 2048,
            available_memory_mb=total_mb - containers * 2048,
            total_memory_mb=total_mb,
            pending_memory_mb=self.pending_mb if rm else 0,
            allocated_vcores=containers * 2048 * node_vcores // node_mb if rm else None,
            total_vcores=nodes * node_vcores if rm else None,
            pending_vcores=self.pending_vcores if rm else None,
            active_nodes=nodes if rm else None,
            hdfs_utilization_pct=self.hdfs_pct,
        )


@st.composite
def loads(draw: st.DrawFn, *, fresh: bool = False) -> Load:
    """A load: often nothing waits (so scale-in is reachable), otherwise some pending demand."""
    waiting = draw(st.booleans())
    pending_mb = draw(st.integers(1, 300_000)) if waiting else 0
    return Load(
        allocated_fraction=draw(ALLOCATED_FRACTION),
        pending_mb=pending_mb,
        pending_vcores=draw(st.integers(0, 80)) if waiting else 0,
        containers_pending=-(-pending_mb // 2048) if waiting else 0,
        hdfs_pct=draw(HDFS_PCT),
        source=draw(SOURCES),
        age_s=draw(FRESH_AGE_S if fresh else AGE_S),
    )


@st.composite
def raw_metrics(draw: st.DrawFn) -> YarnMetrics:
    """Any non-negative figures at all: mostly incoherent."""
    small = st.integers(0, 200_000)
    maybe = MAYBE_VCORES
    return YarnMetrics(
        source=draw(SOURCES),
        observed_at=NOW - timedelta(seconds=draw(st.integers(-90, 1200))),
        apps_running=draw(st.integers(0, 5)),
        apps_pending=draw(st.integers(0, 5)),
        containers_allocated=draw(st.integers(0, 100)),
        containers_pending=draw(st.integers(0, 100)),
        allocated_memory_mb=draw(small),
        available_memory_mb=draw(small),
        total_memory_mb=draw(small),
        pending_memory_mb=draw(small),
        allocated_vcores=draw(maybe),
        available_vcores=draw(maybe),
        total_vcores=draw(maybe),
        pending_vcores=draw(maybe),
        active_nodes=draw(MAYBE_NODES),
        hdfs_utilization_pct=draw(HDFS_PCT),
    )


@st.composite
def evaluations(draw: st.DrawFn) -> tuple[ClusterSnapshot, YarnMetrics | None, ScalingPolicy, ScalingState]:
    """One evaluation's inputs: a cluster, its metrics (usually coherent), a policy and remembered state."""
    policy = draw(POLICIES)
    cluster = draw(snapshots(policy))
    kind = draw(METRICS_KINDS)
    yarn: YarnMetrics | None = None
    if kind == "coherent":
        yarn = draw(LOADS).metrics(_nodes(cluster), NOW, node_mb=draw(NODE_MB))
    elif kind == "raw":
        yarn = draw(RAW_METRICS)
    # What the scaler may have learned: any backlog history, start delay, episode in flight and recent peak.
    ago = st.none() | st.integers(0, 7200).map(lambda s: NOW - timedelta(seconds=s))
    memory = ScalingState(
        cluster_id=CLUSTER_ID,
        last_scale_out_at=draw(LAST_SCALE_OUT),
        last_scale_in_at=draw(LAST_SCALE_IN),
        low_utilization_since=draw(LOW_SINCE),
        last_pending_mb=draw(st.none() | st.integers(0, 300_000)),
        last_read_at=draw(ago),
        backlog_kept=draw(st.none() | st.floats(0.0, 1.0)),
        in_flight_since=draw(ago),
        start_delay_s=draw(st.none() | st.floats(60.0, 3600.0)),
        demand_peak_mb=draw(st.none() | st.integers(0, 400_000)),
        demand_peak_at=draw(ago),
    )
    return cluster, yarn, policy, memory


@st.composite
def scale_in_evaluations(draw: st.DrawFn) -> tuple[ClusterSnapshot, YarnMetrics, ScalingPolicy, ScalingState]:
    """A settled cluster with CORE scaling on, no pending demand, low for an hour, no recent resize: the inputs
    that reach the CORE shrink and its HDFS limits, which the general generator reaches only now and then.
    """
    policy = draw(CORE_SCALABLE_POLICIES)
    cluster = snapshot(*draw(groups(policy, settled=True))[1:])
    load = Load(
        allocated_fraction=policy.scale_in.utilization_threshold_pct / 100 * draw(SPAN_POSITIONS),
        pending_mb=0,
        pending_vcores=0,
        containers_pending=0,
        hdfs_pct=draw(HDFS_LEVELS),
        source=draw(SOURCES),
        age_s=5,
    )
    memory = ScalingState(cluster_id=CLUSTER_ID, low_utilization_since=NOW - timedelta(hours=1))
    return cluster, load.metrics(_nodes(cluster), NOW, node_mb=draw(NODE_MB)), policy, memory


POLICIES = policies()
CORE_SCALABLE_POLICIES = policies(core_always_scalable=True)
LOADS = loads()
RAW_METRICS = raw_metrics()


def _limits_of(policy: ScalingPolicy, role: GroupRole) -> GroupLimits:
    assert role is not GroupRole.MASTER, "the planner must never resize the MASTER group"
    return policy.groups.task if role is GroupRole.TASK else policy.groups.core


def _budget(policy: ScalingPolicy, command: ResizeInstanceGroup) -> int:
    """The most one command may change its group: the larger step budget out, the smaller (at least 1) in."""
    size = command.from_count
    if command.direction is Direction.OUT:
        return max(policy.scale_out.max_step_nodes, math.ceil(size * policy.scale_out.max_step_pct / 100))
    return max(1, min(policy.scale_in.max_step_nodes, math.floor(size * policy.scale_in.max_step_pct / 100)))


def _cooldown(policy: ScalingPolicy, direction: Direction) -> timedelta:
    seconds = policy.scale_out.cooldown_s if direction is Direction.OUT else policy.scale_in.cooldown_s
    return timedelta(seconds=seconds)


def _assert_within_limits(command: ResizeInstanceGroup, limits: GroupLimits) -> None:
    """A group inside [min, max] stays inside. A group left outside (ops changed the limits) is only ever moved
    toward the range, never further out and never past the far end; the step budget may keep it outside a while.
    """
    low, high, start, end = limits.min_nodes, limits.max_nodes, command.from_count, command.to_count
    if low <= start <= high:
        assert low <= end <= high, f"{command} leaves [{low}, {high}]"
    elif start > high:
        assert low <= end < start, f"{command} moves away from max_nodes {high} or below min_nodes {low}"
    else:
        assert start < end <= high, f"{command} moves away from min_nodes {low} or above max_nodes {high}"


@PROPERTY_SETTINGS
@given(evaluations())
def test_targets_stay_within_group_limits(
    inputs: tuple[ClusterSnapshot, YarnMetrics | None, ScalingPolicy, ScalingState],
) -> None:
    # GIVEN any cluster, metrics, policy and state
    cluster, yarn, policy, memory = inputs

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy, memory, NOW)

    # THEN every target is within its role's [min_nodes, max_nodes], or moves toward it, from what the group asked
    for command in plan.commands:
        seen = cluster.group(command.group_id)
        assert seen is not None
        assert command.role is seen.role
        assert command.from_count == seen.requested_count
        assert command.to_count != command.from_count
        _assert_within_limits(command, _limits_of(policy, command.role))
    assert len({c.group_id for c in plan.commands}) == len(plan.commands), "one command per group"


@PROPERTY_SETTINGS
@given(evaluations())
def test_never_scales_in_while_demand_is_pending(
    inputs: tuple[ClusterSnapshot, YarnMetrics | None, ScalingPolicy, ScalingState],
) -> None:
    # GIVEN any cluster, metrics, policy and state
    cluster, yarn, policy, memory = inputs

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy, memory, NOW)

    # THEN with demand pending, no command shrinks a group, and every shrink is graceful
    if yarn is not None and yarn.demand_pending:
        assert all(c.to_count >= c.from_count for c in plan.commands), plan.explanation
    for command in plan.commands:
        if command.direction is Direction.IN:
            assert command.decommission_timeout_s == policy.scale_in.decommission_timeout_s
        else:
            assert command.decommission_timeout_s is None


@PROPERTY_SETTINGS
@given(evaluations())
def test_one_plan_changes_at_most_its_step_budget(
    inputs: tuple[ClusterSnapshot, YarnMetrics | None, ScalingPolicy, ScalingState],
) -> None:
    # GIVEN any cluster, metrics, policy and state
    cluster, yarn, policy, memory = inputs

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy, memory, NOW)

    # THEN the plan goes one way only, and changes each group by at most its step budget in that direction; only
    # an idle cluster's empty nodes go past it
    directions = {c.direction for c in plan.commands}
    assert len(directions) <= 1, plan.commands
    for command in plan.commands:
        if plan.reason is not ReasonCode.SCALE_IN_IDLE:
            assert abs(command.to_count - command.from_count) <= _budget(policy, command), plan.explanation
        assert (plan.nodes_delta > 0) is (command.direction is Direction.OUT)


@PROPERTY_SETTINGS
@given(st.one_of(evaluations(), scale_in_evaluations()))
def test_a_plan_acts_only_when_every_check_passed(
    inputs: tuple[ClusterSnapshot, YarnMetrics | None, ScalingPolicy, ScalingState],
) -> None:
    # GIVEN any cluster, metrics, policy and state, often one that reaches a CORE shrink
    cluster, yarn, policy, memory = inputs

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy, memory, NOW)

    # THEN commands come only with an acting reason and all checks passed; a hold remembers no resize
    assert plan.reason not in SERVICE_LAYER_REASONS
    assert plan.acts is plan.reason.acts
    if plan.acts:
        failed = [c for c in plan.checks if not c.passed]
        assert failed == [], f"{plan.explanation} acted despite {failed}"
        assert {"opted_in", "cluster_active", "groups_resizable", "metrics_fresh", "metrics_coherent", "cooldown"} <= {
            c.name for c in plan.checks
        }
    else:
        assert plan.next_state.last_scale_out_at == memory.last_scale_out_at
        assert plan.next_state.last_scale_in_at == memory.last_scale_in_at
    assert plan.next_state.cluster_id == cluster.cluster_id
    assert plan.explanation
    assert cluster.cluster_id in plan.explanation


@PROPERTY_SETTINGS
@given(scale_in_evaluations())
def test_core_shrinks_keep_hdfs_safe(inputs: tuple[ClusterSnapshot, YarnMetrics, ScalingPolicy, ScalingState]) -> None:
    # GIVEN a low-utilization cluster with CORE scaling on
    cluster, yarn, policy, memory = inputs

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy, memory, NOW)

    # THEN a CORE shrink happens only with HDFS known, keeps the replication factor, and the blocks of the
    # removed nodes fit on the rest under hdfs.max_utilization_pct
    for command in plan.commands:
        if command.role is GroupRole.CORE and command.direction is Direction.IN:
            assert yarn.hdfs_utilization_pct is not None, plan.explanation
            assert command.to_count >= policy.hdfs.replication_factor, plan.explanation
            after = yarn.hdfs_utilization_pct * command.from_count / command.to_count
            assert after <= policy.hdfs.max_utilization_pct, plan.explanation


def _apply(cluster: ClusterSnapshot, commands: tuple[ResizeInstanceGroup, ...]) -> ClusterSnapshot:
    """Resize instantly: the groups run what the commands asked for."""
    targets = {c.group_id: c.to_count for c in commands}
    resized = tuple(
        g.model_copy(update={"requested_count": targets[g.group_id], "running_count": targets[g.group_id]})
        if g.group_id in targets
        else g
        for g in cluster.groups
    )
    return cluster.model_copy(update={"groups": resized})


@PROPERTY_SETTINGS
@given(
    setup=POLICIES.flatmap(lambda policy: st.tuples(st.just(policy), groups(policy, settled=True))),
    last_out_s=st.one_of(st.none(), st.integers(0, 900)),
    last_in_s=st.one_of(st.none(), st.integers(0, 900)),
    steps=st.lists(st.tuples(st.integers(1, 400), loads(fresh=True)), min_size=2, max_size=15),
)
def test_no_action_within_the_cooldown_of_the_previous_one(
    setup: tuple[ScalingPolicy, tuple[InstanceGroupCapacity, ...]],
    last_out_s: int | None,
    last_in_s: int | None,
    steps: list[tuple[int, Load]],
) -> None:
    # GIVEN a cluster evaluated again and again as time passes, its state carried forward, resizes applied at once
    policy, cluster_groups = setup
    cluster = snapshot(*cluster_groups[1:])
    memory = ScalingState(
        cluster_id=CLUSTER_ID,
        last_scale_out_at=None if last_out_s is None else NOW - timedelta(seconds=last_out_s),
        last_scale_in_at=None if last_in_s is None else NOW - timedelta(seconds=last_in_s),
    )
    remembered = [
        (at, d) for at, d in ((memory.last_scale_out_at, Direction.OUT), (memory.last_scale_in_at, Direction.IN)) if at
    ]
    actions: list[tuple[datetime, Direction, ResizePlan]] = []
    now = NOW

    # WHEN the planner runs at each step
    for gap_s, load in steps:
        now += timedelta(seconds=gap_s)
        plan = plan_resize(cluster, load.metrics(_nodes(cluster), now), policy, memory, now)
        if plan.acts:
            actions.append((now, plan.commands[0].direction, plan))
            cluster = _apply(cluster, plan.commands)
        memory = plan.next_state

    # THEN no action falls within the cooldown of any earlier one (remembered or planned)
    for i, (at, direction, plan) in enumerate(actions):
        earlier = remembered + [(t, d) for t, d, _ in actions[:i]]
        for before, before_direction in earlier:
            assert at - before >= _cooldown(policy, before_direction), (
                f"{direction} at +{(at - NOW).total_seconds():.0f} s only {(at - before).total_seconds():.0f} s "
                f"after {before_direction}: {plan.explanation}"
            )
