"""Limits: groups that sit outside their [min_nodes, max_nodes] (ops changed the limits) come back inside."""

from __future__ import annotations

from emr_autoscaler.kernel.models import (
    GroupRole,
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
)
from emr_autoscaler.scaling.domain.guards import cooldown_hold
from emr_autoscaler.scaling.domain.planner import Planner
from emr_autoscaler.scaling.domain.scale_in import hdfs_removable, shrink_command
from emr_autoscaler.scaling.domain.scale_out import grow_command


def plan_to_limits(p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan | None:
    """Bring groups that sit outside [min_nodes, max_nodes] (ops changed the limits) back inside, step by step.

    Growing to min_nodes is always allowed; shrinking to max_nodes waits while demand is pending (the scaler never
    scales in then) and, for CORE, follows the HDFS rule like any other shrink.
    """
    outside = []
    for group in scalable:
        limits = p.limits(group)
        assert limits is not None
        below = group.requested_count < limits.min_nodes
        # Shrinking waits, as any scale-in does, until the group is no longer resizing.
        above = group.requested_count > limits.max_nodes and not metrics.demand_pending and group.settled
        if below or above:
            outside.append((group, limits, below))
    if not outside:
        return None
    held = cooldown_hold(p, p.state)
    if held is not None:
        return held
    # One direction per plan (a plan is a scale-out or a scale-in): growing to min_nodes comes first.
    growing = [(group, limits) for group, limits, below in outside if below]
    commands: list[ResizeInstanceGroup] = []
    if growing:
        for group, limits in growing:
            add = min(limits.min_nodes - group.requested_count, p.out_budget(group))
            if add <= 0:
                continue
            commands.append(grow_command(group, add))
    else:
        for group, limits, _below in outside:
            remove = min(group.requested_count - limits.max_nodes, p.in_budget(group))
            if group.role is GroupRole.CORE:
                remove, _note = hdfs_removable(p, metrics, group, remove)
            if remove <= 0:
                continue
            commands.append(shrink_command(p, group, remove))
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
