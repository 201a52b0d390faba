"""Scale-out: pending YARN demand (memory or vcores, whichever needs more nodes) adds nodes within the step budget."""

from __future__ import annotations

import math

from emr_autoscaler.kernel.models import (
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


def plan_scale_out(p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan:
    # Demand interrupts any stabilization window: utilization was not sustainedly low.
    next_state = p.state.model_copy(update={"low_utilization_since": None})
    held = cooldown_hold(p, next_state)
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
