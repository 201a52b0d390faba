"""Scale-in: sustained low utilization (after the stabilization window) or an idle cluster removes nodes gracefully.

Never while demand is pending; CORE only where configured and where HDFS keeps its replicas and headroom; never
from a group that is still resizing. Room for the highest demand seen within one start delay stays (a node given
back now could not be back in time for it). An idle cluster's nodes are all empty: they go in bulk, past the step
budget; otherwise each group loses at most its scale-in budget (`Planner.in_budget`).
"""

from __future__ import annotations

import math

from emr_autoscaler.kernel.models import (
    GroupRole,
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.scaling.domain.guards import cooldown_hold
from emr_autoscaler.scaling.domain.planner import Planner


def plan_scale_in(p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan:
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
    held = cooldown_hold(p, next_state)
    if held is not None:
        return held
    if metrics.idle:
        return _plan_idle(p, metrics, scalable, next_state)
    return _plan_shrink(p, metrics, scalable, next_state, utilization)


def shrink_command(p: Planner, group: InstanceGroupCapacity, remove: int) -> ResizeInstanceGroup:
    return ResizeInstanceGroup(
        group_id=group.group_id,
        group_name=group.name,
        role=group.role,
        from_count=group.requested_count,
        to_count=group.requested_count - remove,
        decommission_timeout_s=p.policy.scale_in.decommission_timeout_s,
    )


def _leaving(p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> tuple[float, float]:
    """The memory (MB) and vcores of nodes already draining: YARN still counts them, but they will not stay."""
    mb = vcores = 0.0
    for group in scalable:
        capacity = p.node_capacity(group, metrics)
        if capacity is not None and group.draining:
            mb += group.draining * capacity.memory_mb
            vcores += group.draining * capacity.vcores
    return mb, vcores


def _keep_mb(p: Planner, metrics: YarnMetrics) -> float:
    """The memory the remaining nodes must hold at the target utilization: the load now or the recent peak."""
    target = p.policy.scale_in.target_utilization_pct / 100.0
    return max(metrics.used_memory_mb, p.state.demand_peak_mb or 0) / target


def _plan_idle(
    p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity], next_state: ScalingState
) -> ResizePlan:
    leaving_mb, _ = _leaving(p, metrics, scalable)
    surplus_mb = metrics.total_memory_mb - leaving_mb - _keep_mb(p, metrics)
    commands = []
    for group in (g for g in scalable if g.role is GroupRole.TASK and g.settled):
        limits = p.limits(group)
        capacity = p.node_capacity(group, metrics)
        assert limits is not None
        fits = math.floor(surplus_mb / capacity.memory_mb) if capacity else group.requested_count
        remove = min(group.requested_count - limits.min_nodes, fits)
        if remove > 0:
            commands.append(shrink_command(p, group, remove))
            surplus_mb -= remove * (capacity.memory_mb if capacity else 0)
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
        f"its empty TASK nodes go at once, gracefully: {steps}.",
        commands=commands,
        next_state=next_state.model_copy(update={"last_scale_in_at": p.now}),
    )


def hdfs_removable(p: Planner, metrics: YarnMetrics, core: InstanceGroupCapacity, wanted: int) -> tuple[int, str]:
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
    p: Planner,
    metrics: YarnMetrics,
    scalable: list[InstanceGroupCapacity],
    next_state: ScalingState,
    utilization: float,
) -> ResizePlan:
    target = p.policy.scale_in.target_utilization_pct / 100.0
    # Capacity beyond what the load (now, or at its recent peak) needs at the target utilization can go.
    leaving_mb, leaving_vcores = _leaving(p, metrics, scalable)
    surplus_mb = metrics.total_memory_mb - leaving_mb - _keep_mb(p, metrics)
    surplus_vcores: float | None = None
    if metrics.total_vcores is not None and metrics.allocated_vcores is not None:
        surplus_vcores = metrics.total_vcores - leaving_vcores - metrics.allocated_vcores / target
    commands = []
    hdfs_note = ""
    hdfs_check = ""
    for group in scalable:
        limits = p.limits(group)
        capacity = p.node_capacity(group, metrics)
        if limits is None or capacity is None or not group.settled:
            continue
        fits = math.floor(surplus_mb / capacity.memory_mb)
        if surplus_vcores is not None:
            fits = min(fits, math.floor(surplus_vcores / capacity.vcores))
        remove = min(fits, group.requested_count - limits.min_nodes, p.in_budget(group))
        if remove > 0 and group.role is GroupRole.CORE:
            allowed, hdfs_note = hdfs_removable(p, metrics, group, remove)
            hdfs_check = f"{hdfs_note}: {allowed} of {remove} CORE node(s) may go"
            remove = allowed
        if remove <= 0:
            continue
        commands.append(shrink_command(p, group, remove))
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
    peak_mb = p.state.demand_peak_mb or 0
    keeping = (
        f" of the {peak_mb} MB of demand seen lately (room kept: nodes given back now could not return in time)"
        if peak_mb > metrics.allocated_memory_mb
        else ""
    )
    return p.plan(
        ReasonCode.SCALE_IN_LOW_UTILIZATION,
        f"Scaling in {p.label}: utilization {utilization:.0f}% stayed under "
        f"{p.policy.scale_in.utilization_threshold_pct:.0f}% for the stabilization window; gracefully "
        f"removing nodes to approach {target * 100:.0f}%{keeping}: {steps}.",
        commands=commands,
        next_state=next_state.model_copy(update={"last_scale_in_at": p.now}),
    )
