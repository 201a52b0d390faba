"""plan_resize: the scaling policy. Pure: the snapshot, metrics, policy, prior state and `now` come in; a plan goes out.

The guards run in a fixed order, cheapest and most fundamental first (opt-in, cluster state, groups settled,
metrics present, fresh and coherent); the first that fails decides a hold. Only then is demand read:
pending demand scales out (never in), sustained low utilization scales in after the stabilization window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.scaling import GroupLimits, NodeCapacity, ScalingPolicy
from emr_autoscaler.kernel.ids import OPT_IN_TAG
from emr_autoscaler.kernel.models import (
    ACTIVE_CLUSTER_STATES,
    ClusterSnapshot,
    GroupRole,
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    GuardCheck,
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)

# Memory and vcore totals may disagree with allocated + available by this fraction before metrics are
# called contradictory: YARN reports the three from one snapshot, so a larger gap means a broken source.
_TOTALS_TOLERANCE = 0.05
# Metrics stamped further than this in the future mean a clock or source problem, not fresh data.
_FUTURE_TOLERANCE = timedelta(seconds=60)


class _Planner:
    """_Planner carries one evaluation's inputs and the checks made so far."""

    def __init__(
        self,
        snapshot: ClusterSnapshot,
        metrics: YarnMetrics | None,
        policy: ScalingPolicy,
        state: ScalingState,
        now: datetime,
    ) -> None:
        self.snapshot = snapshot
        self.metrics = metrics
        self.policy = policy
        self.state = state
        self.now = now
        self.checks: list[GuardCheck] = []

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(GuardCheck(name=name, passed=passed, detail=detail))
        return passed

    def plan(
        self,
        reason: ReasonCode,
        explanation: str,
        commands: Iterable[ResizeInstanceGroup] = (),
        next_state: ScalingState | None = None,
    ) -> ResizePlan:
        return ResizePlan(
            cluster_id=self.snapshot.cluster_id,
            decided_at=self.now,
            reason=reason,
            explanation=explanation,
            commands=tuple(commands),
            checks=tuple(self.checks),
            next_state=next_state or self.state,
        )

    @property
    def label(self) -> str:
        return f"cluster {self.snapshot.name!r} ({self.snapshot.cluster_id})"

    def limits(self, group: InstanceGroupCapacity) -> GroupLimits | None:
        if group.role is GroupRole.TASK:
            return self.policy.groups.task
        if group.role is GroupRole.CORE:
            return self.policy.groups.core
        return None

    def scalable_groups(self) -> list[InstanceGroupCapacity]:
        """TASK groups first (cheapest to add and to lose: no HDFS), then CORE where configured."""
        groups = [g for g in self.snapshot.groups if (lim := self.limits(g)) is not None and lim.scalable]
        return sorted(groups, key=lambda g: (g.role is not GroupRole.TASK, g.name, g.group_id))

    def node_capacity(self, group: InstanceGroupCapacity, metrics: YarnMetrics) -> NodeCapacity | None:
        """Explicit configuration wins; else what YARN reports per node; else EMR's default for the type."""
        configured = self.policy.node_capacity.get(group.instance_type)
        if configured is not None:
            return configured
        nodes = metrics.active_nodes or sum(
            g.running_count for g in self.snapshot.groups if g.role is not GroupRole.MASTER
        )
        if nodes and metrics.total_memory_mb:
            vcores = (metrics.total_vcores or 0) // nodes
            default = self.policy.capacity_of(group.instance_type)
            return NodeCapacity(
                memory_mb=max(1, metrics.total_memory_mb // nodes),
                vcores=vcores if vcores > 0 else (default.vcores if default else 1),
            )
        return self.policy.capacity_of(group.instance_type)

    def cooldown_until(self) -> datetime | None:
        ends = []
        if self.state.last_scale_out_at is not None:
            ends.append(self.state.last_scale_out_at + timedelta(seconds=self.policy.scale_out.cooldown_s))
        if self.state.last_scale_in_at is not None:
            ends.append(self.state.last_scale_in_at + timedelta(seconds=self.policy.scale_in.cooldown_s))
        latest = max(ends, default=None)
        return latest if latest is not None and latest > self.now else None


def _contradiction(metrics: YarnMetrics) -> str | None:
    """Return why the metrics cannot all be true at once, or None when they are coherent."""
    if metrics.allocated_memory_mb > metrics.total_memory_mb:
        return f"allocated memory {metrics.allocated_memory_mb} MB exceeds total {metrics.total_memory_mb} MB"
    gap = abs(metrics.allocated_memory_mb + metrics.available_memory_mb - metrics.total_memory_mb)
    if gap > _TOTALS_TOLERANCE * max(metrics.total_memory_mb, 1):
        return (
            f"allocated {metrics.allocated_memory_mb} MB + available {metrics.available_memory_mb} MB "
            f"does not add up to total {metrics.total_memory_mb} MB"
        )
    if (
        metrics.allocated_vcores is not None
        and metrics.total_vcores is not None
        and metrics.allocated_vcores > metrics.total_vcores
    ):
        return f"allocated vcores {metrics.allocated_vcores} exceed total {metrics.total_vcores}"
    if metrics.containers_allocated > 0 and metrics.allocated_memory_mb == 0:
        return f"{metrics.containers_allocated} containers allocated with 0 MB allocated"
    if metrics.total_memory_mb == 0 and metrics.containers_allocated > 0:
        return "containers are allocated on a cluster reporting no YARN memory"
    return None


def plan_resize(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
) -> ResizePlan:
    """Plan_resize decides how to resize one cluster's instance groups now, and why.

    Invariants: targets stay within each group's [min_nodes, max_nodes]; one action changes at most the step
    budget of nodes; nothing scales in while YARN has pending demand; nothing acts on missing, stale or
    contradictory metrics, on a group that is not settled, during a cooldown, or on a cluster that is not
    RUNNING/WAITING or has not opted in.
    """
    p = _Planner(snapshot, metrics, policy, state, now)

    if not p.check("opted_in", snapshot.opted_in, f"tag {OPT_IN_TAG}={snapshot.tags.get(OPT_IN_TAG, '(absent)')}"):
        return p.plan(
            ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN,
            f"Holding {p.label}: it does not carry the tag {OPT_IN_TAG}=true, so the autoscaler leaves it alone.",
        )
    if not p.check("cluster_active", snapshot.state in ACTIVE_CLUSTER_STATES, f"cluster state {snapshot.state}"):
        return p.plan(
            ReasonCode.HOLD_CLUSTER_NOT_ACTIVE,
            f"Holding {p.label}: it is {snapshot.state}, and only RUNNING or WAITING clusters are resized.",
        )
    scalable = p.scalable_groups()
    if not p.check("scalable_group", bool(scalable), f"{len(scalable)} scalable group(s)"):
        return p.plan(
            ReasonCode.HOLD_NO_SCALABLE_GROUP,
            f"Holding {p.label}: it has no TASK group, and CORE scaling is off in its profile.",
        )
    unsettled = [g for g in snapshot.groups if g.role is not GroupRole.MASTER and not g.settled]
    detail = ", ".join(f"{g.name} {g.state} {g.running_count}/{g.requested_count}" for g in unsettled) or "all settled"
    if not p.check("groups_settled", not unsettled, detail):
        return p.plan(
            ReasonCode.HOLD_GROUP_NOT_SETTLED,
            f"Holding {p.label}: group(s) {detail} (state/running/requested) are still changing; "
            "acting again before they settle would double-count capacity.",
        )
    # Without trustworthy metrics nobody saw utilization stay low: the stabilization window starts over.
    blind = state.model_copy(update={"low_utilization_since": None})
    if not p.check("metrics_present", metrics is not None, "metrics read" if metrics else "no source answered"):
        return p.plan(
            ReasonCode.HOLD_METRICS_MISSING,
            f"Holding {p.label}: no metrics source answered, and the scaler never acts blind.",
            next_state=blind,
        )
    assert metrics is not None  # narrowed by the check above
    age_s = (now - metrics.observed_at).total_seconds()
    max_age_s = policy.metrics.max_age_s(metrics.source)
    fresh = -_FUTURE_TOLERANCE.total_seconds() <= age_s <= max_age_s
    if not p.check("metrics_fresh", fresh, f"{metrics.source} metrics {age_s:.0f} s old (max {max_age_s} s)"):
        return p.plan(
            ReasonCode.HOLD_METRICS_STALE,
            f"Holding {p.label}: the {metrics.source} metrics are {age_s:.0f} s old (limit {max_age_s} s); "
            "stale data could hide the current load.",
            next_state=blind,
        )
    contradiction = _contradiction(metrics)
    if not p.check("metrics_coherent", contradiction is None, contradiction or "totals add up"):
        return p.plan(
            ReasonCode.HOLD_METRICS_CONTRADICTORY,
            f"Holding {p.label}: the metrics contradict themselves ({contradiction}).",
            next_state=blind,
        )
    to_limits = _plan_to_limits(p, metrics, scalable)
    if to_limits is not None:
        return to_limits
    if metrics.demand_pending:
        return _plan_scale_out(p, metrics, scalable)
    return _plan_scale_in(p, metrics, scalable)


def _plan_to_limits(p: _Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan | None:
    """Bring groups that sit outside [min_nodes, max_nodes] (ops changed the limits) back inside, step by step.

    Growing to min_nodes is always allowed; shrinking to max_nodes waits while demand is pending (the scaler never
    scales in then) and, for CORE, follows the HDFS rule like any other shrink.
    """
    outside = []
    for group in scalable:
        limits = p.limits(group)
        assert limits is not None
        below = group.requested_count < limits.min_nodes
        above = group.requested_count > limits.max_nodes and not metrics.demand_pending
        if below or above:
            outside.append((group, limits, below))
    if not outside:
        return None
    held = _cooldown_hold(p, p.state)
    if held is not None:
        return held
    # One direction per plan (a plan is a scale-out or a scale-in): growing to min_nodes comes first.
    growing = [(group, limits) for group, limits, below in outside if below]
    commands: list[ResizeInstanceGroup] = []
    if growing:
        budget = p.policy.scale_out.max_step_nodes
        for group, limits in growing:
            add = min(limits.min_nodes - group.requested_count, budget)
            if add <= 0:
                continue
            budget -= add
            commands.append(
                ResizeInstanceGroup(
                    group_id=group.group_id,
                    group_name=group.name,
                    role=group.role,
                    from_count=group.requested_count,
                    to_count=group.requested_count + add,
                )
            )
    else:
        budget = p.policy.scale_in.max_step_nodes
        for group, limits, _below in outside:
            remove = min(group.requested_count - limits.max_nodes, budget)
            if group.role is GroupRole.CORE:
                remove, _note = _hdfs_removable(p, metrics, group, remove)
            if remove <= 0:
                continue
            budget -= remove
            commands.append(_shrink_command(p, group, remove))
    if not commands:
        return None
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in commands)
    clock = "last_scale_out_at" if growing else "last_scale_in_at"
    return p.plan(
        ReasonCode.SCALE_TO_LIMITS,
        f"Resizing {p.label} into its configured limits (min_nodes/max_nodes changed or were never met): {steps}.",
        commands=commands,
        next_state=p.state.model_copy(update={clock: p.now}),
    )


def _cooldown_hold(p: _Planner, next_state: ScalingState) -> ResizePlan | None:
    until = p.cooldown_until()
    detail = f"cooling down until {until.isoformat()}" if until else "no cooldown running"
    if p.check("cooldown", until is None, detail):
        return None
    assert until is not None
    wait_s = (until - p.now).total_seconds()
    return p.plan(
        ReasonCode.HOLD_COOLDOWN,
        f"Holding {p.label}: the last resize was recent; the cooldown ends in {wait_s:.0f} s.",
        next_state=next_state,
    )


def _plan_scale_out(p: _Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan:
    # Demand interrupts any stabilization window: utilization was not sustainedly low.
    next_state = p.state.model_copy(update={"low_utilization_since": None})
    held = _cooldown_hold(p, next_state)
    if held is not None:
        return held
    need_mb = metrics.pending_memory_mb
    need_vcores = metrics.pending_vcores or 0
    if need_mb == 0 and need_vcores == 0:
        # Pending containers without pending resources (CloudWatch reports counts only): size by the count.
        need_mb = metrics.containers_pending * p.policy.metrics.estimated_container_memory_mb
    budget = p.policy.scale_out.max_step_nodes
    commands: list[ResizeInstanceGroup] = []
    capacity_known = False
    for group in scalable:
        limits = p.limits(group)
        capacity = p.node_capacity(group, metrics)
        if limits is None or capacity is None:
            continue
        capacity_known = True
        if budget == 0 or (need_mb <= 0 and need_vcores <= 0):
            break
        needed = max(math.ceil(max(need_mb, 0) / capacity.memory_mb), math.ceil(max(need_vcores, 0) / capacity.vcores))
        add = min(needed, limits.max_nodes - group.requested_count, budget)
        if add <= 0:
            continue
        commands.append(
            ResizeInstanceGroup(
                group_id=group.group_id,
                group_name=group.name,
                role=group.role,
                from_count=group.requested_count,
                to_count=group.requested_count + add,
            )
        )
        budget -= add
        need_mb -= add * capacity.memory_mb
        need_vcores -= add * capacity.vcores
    demand = (
        f"{metrics.containers_pending} pending container(s) need {metrics.pending_memory_mb} MB"
        + (f" and {metrics.pending_vcores} vcores" if metrics.pending_vcores else "")
        + (" (estimated)" if metrics.pending_estimated else "")
    )
    if not p.check("node_capacity_known", capacity_known, "node capacity from config, YARN or EMR defaults"):
        return p.plan(
            ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
            f"Holding {p.label}: {demand}, but one node's YARN capacity is unknown for its instance types; "
            "set node_capacity in the configuration.",
            next_state=next_state,
        )
    if not p.check("below_max", bool(commands), "room below max_nodes" if commands else "every group at max_nodes"):
        return p.plan(
            ReasonCode.HOLD_AT_MAX,
            f"Holding {p.label}: {demand}, but every scalable group is at its max_nodes.",
            next_state=next_state,
        )
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in commands)
    short = " (step budget reached)" if budget == 0 and (need_mb > 0 or need_vcores > 0) else ""
    return p.plan(
        ReasonCode.SCALE_OUT_PENDING_DEMAND,
        f"Scaling out {p.label}: {demand}; {steps}{short}.",
        commands=commands,
        next_state=next_state.model_copy(update={"last_scale_out_at": p.now}),
    )


def _plan_scale_in(p: _Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan:
    threshold = p.policy.scale_in.utilization_threshold_pct
    utilization = metrics.utilization_pct
    low = metrics.idle or utilization < threshold
    if not p.check("utilization_low", low, f"utilization {utilization:.0f}% (scale-in below {threshold:.0f}%)"):
        return p.plan(
            ReasonCode.HOLD_STEADY,
            f"Holding {p.label}: no pending demand and utilization {utilization:.0f}% is at or above the "
            f"scale-in threshold {threshold:.0f}%; the size fits the load.",
            next_state=p.state.model_copy(update={"low_utilization_since": None}),
        )
    since = p.state.low_utilization_since or p.now
    next_state = p.state.model_copy(update={"low_utilization_since": since})
    window_s = p.policy.scale_in.stabilization_window_s
    low_for_s = (p.now - since).total_seconds()
    if not p.check("stabilized", low_for_s >= window_s, f"low for {low_for_s:.0f} s of {window_s} s"):
        return p.plan(
            ReasonCode.HOLD_STABILIZING,
            f"Holding {p.label}: utilization {utilization:.0f}% has been under {threshold:.0f}% for "
            f"{low_for_s:.0f} s; scale-in waits until it stays there for {window_s} s.",
            next_state=next_state,
        )
    held = _cooldown_hold(p, next_state)
    if held is not None:
        return held
    if metrics.idle:
        return _plan_idle(p, scalable, next_state)
    return _plan_shrink(p, metrics, scalable, next_state, utilization)


def _shrink_command(p: _Planner, group: InstanceGroupCapacity, remove: int) -> ResizeInstanceGroup:
    return ResizeInstanceGroup(
        group_id=group.group_id,
        group_name=group.name,
        role=group.role,
        from_count=group.requested_count,
        to_count=group.requested_count - remove,
        decommission_timeout_s=p.policy.scale_in.decommission_timeout_s,
    )


def _plan_idle(p: _Planner, scalable: list[InstanceGroupCapacity], next_state: ScalingState) -> ResizePlan:
    budget = p.policy.scale_in.max_step_nodes
    commands = []
    for group in (g for g in scalable if g.role is GroupRole.TASK):
        limits = p.limits(group)
        assert limits is not None
        remove = min(group.requested_count - limits.min_nodes, budget)
        if remove > 0:
            commands.append(_shrink_command(p, group, remove))
            budget -= remove
    if not p.check("above_min", bool(commands), "TASK groups above min_nodes" if commands else "TASK groups at min"):
        return p.plan(
            ReasonCode.HOLD_AT_MIN,
            f"Holding {p.label}: it is idle and its TASK groups are already at their min_nodes.",
            next_state=next_state,
        )
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in commands)
    return p.plan(
        ReasonCode.SCALE_IN_IDLE,
        f"Scaling in {p.label}: no application has run or waited for the stabilization window; "
        f"TASK groups toward their minimum, gracefully: {steps}.",
        commands=commands,
        next_state=next_state.model_copy(update={"last_scale_in_at": p.now}),
    )


def _hdfs_removable(p: _Planner, metrics: YarnMetrics, core: InstanceGroupCapacity, wanted: int) -> tuple[int, str]:
    """How many CORE nodes HDFS can lose: replication needs nodes, and the rest must hold the data."""
    hdfs = p.policy.hdfs
    if metrics.hdfs_utilization_pct is None:
        return 0, "HDFS utilization unknown from this metrics source"
    if metrics.hdfs_utilization_pct > hdfs.max_utilization_pct:
        return 0, f"HDFS {metrics.hdfs_utilization_pct:.0f}% used, above {hdfs.max_utilization_pct:.0f}%"
    n = core.requested_count
    allowed = min(wanted, max(0, n - hdfs.replication_factor))
    # Removing k of n nodes moves their blocks to the others: utilization grows by n / (n - k).
    while allowed > 0 and metrics.hdfs_utilization_pct * n / (n - allowed) > hdfs.max_utilization_pct:
        allowed -= 1
    return allowed, f"HDFS {metrics.hdfs_utilization_pct:.0f}% used, replication {hdfs.replication_factor}"


def _plan_shrink(
    p: _Planner,
    metrics: YarnMetrics,
    scalable: list[InstanceGroupCapacity],
    next_state: ScalingState,
    utilization: float,
) -> ResizePlan:
    target = p.policy.scale_in.target_utilization_pct / 100.0
    # Capacity beyond what the allocated load needs at the target utilization can go.
    surplus_mb = metrics.total_memory_mb - metrics.allocated_memory_mb / target
    surplus_vcores: float | None = None
    if metrics.total_vcores is not None and metrics.allocated_vcores is not None:
        surplus_vcores = metrics.total_vcores - metrics.allocated_vcores / target
    budget = p.policy.scale_in.max_step_nodes
    commands = []
    hdfs_note = ""
    hdfs_check = ""
    for group in scalable:
        limits = p.limits(group)
        capacity = p.node_capacity(group, metrics)
        if limits is None or capacity is None or budget == 0:
            continue
        fits = math.floor(surplus_mb / capacity.memory_mb)
        if surplus_vcores is not None:
            fits = min(fits, math.floor(surplus_vcores / capacity.vcores))
        remove = min(fits, group.requested_count - limits.min_nodes, budget)
        if remove > 0 and group.role is GroupRole.CORE:
            allowed, hdfs_note = _hdfs_removable(p, metrics, group, remove)
            hdfs_check = f"{hdfs_note}: {allowed} of {remove} CORE node(s) may go"
            remove = allowed
        if remove <= 0:
            continue
        commands.append(_shrink_command(p, group, remove))
        budget -= remove
        surplus_mb -= remove * capacity.memory_mb
        if surplus_vcores is not None:
            surplus_vcores -= remove * capacity.vcores
    # HDFS limits the CORE shrink rather than vetoing the plan: the check fails only when it leaves nothing to do,
    # so an acting plan never carries a failed check.
    if hdfs_check:
        p.check("hdfs_safe", bool(commands), hdfs_check)
    if not commands:
        if hdfs_note:
            return p.plan(
                ReasonCode.HOLD_HDFS_PROTECTED,
                f"Holding {p.label}: utilization {utilization:.0f}% is low but only CORE nodes could go, and "
                f"HDFS needs them ({hdfs_note}).",
                next_state=next_state,
            )
        p.check("above_min", False, "no group can shrink without leaving min_nodes or the target utilization")
        return p.plan(
            ReasonCode.HOLD_AT_MIN,
            f"Holding {p.label}: utilization {utilization:.0f}% is low, but removing a node would leave a group "
            f"below min_nodes or push utilization past the {target * 100:.0f}% target.",
            next_state=next_state,
        )
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in commands)
    return p.plan(
        ReasonCode.SCALE_IN_LOW_UTILIZATION,
        f"Scaling in {p.label}: utilization {utilization:.0f}% stayed under "
        f"{p.policy.scale_in.utilization_threshold_pct:.0f}% for the stabilization window; gracefully "
        f"removing nodes to approach {target * 100:.0f}%: {steps}.",
        commands=commands,
        next_state=next_state.model_copy(update={"last_scale_in_at": p.now}),
    )
