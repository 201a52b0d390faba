"""Spot groups: plan_group_resize, plan_resize plus the Spot fallback for instance-group clusters. Pure.

A Spot TASK group whose requested nodes have not come for `fleets.spot.shortage_timeout_s` (none arriving
meanwhile) falls back on an On-Demand TASK group of the cluster: the missing nodes are asked of it within its own
`max_nodes` (the On-Demand cap), the Spot group stops asking for them, and they are given back once a Spot retry
delivers (spot.py). A cluster without a Spot TASK group, or without an On-Demand TASK group beside it, is decided by
plan_resize alone, unchanged.
"""

from __future__ import annotations

from datetime import datetime

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, GroupRole, InstanceGroupCapacity, YarnMetrics
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceGroup, ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.plan import plan_resize
from emr_autoscaler.scaling.domain.spot import EARLY_HOLDS, SpotPair, plan_spot, remember_spot


def _command(group: InstanceGroupCapacity, to_count: int, policy: ScalingPolicy) -> ResizeInstanceGroup:
    shrinks = to_count < group.requested_count
    return ResizeInstanceGroup(
        group_id=group.group_id,
        group_name=group.name,
        role=group.role,
        from_count=group.requested_count,
        to_count=to_count,
        decommission_timeout_s=policy.scale_in.decommission_timeout_s if shrinks else None,
    )


def group_pairs(snapshot: ClusterSnapshot, policy: ScalingPolicy) -> list[SpotPair]:
    """Group_pairs pairs each scalable Spot TASK group with the cluster's first On-Demand TASK group, if any."""
    limits = policy.groups.task
    if not limits.scalable:
        return []
    tasks = [g for g in snapshot.groups if g.role is GroupRole.TASK]
    on_demand = next((g for g in tasks if g.market != "SPOT" and g.resizable), None)
    if on_demand is None:
        return []
    od = on_demand
    pairs = []
    for spot in (g for g in tasks if g.market == "SPOT"):

        def commands(
            to_on_demand: int, to_spot: int, spot: InstanceGroupCapacity = spot
        ) -> tuple[ResizeInstanceGroup, ...]:
            changes = ((od, to_on_demand), (spot, to_spot))
            return tuple(_command(g, n, policy) for g, n in changes if n != g.requested_count)

        pairs.append(
            SpotPair(
                key=spot.group_id,
                name=f"Spot group {spot.name!r} ({spot.group_id})",
                unit="node",
                target_on_demand=od.requested_count,
                target_spot=spot.requested_count,
                provisioned_spot=spot.running_count,
                max_on_demand=limits.max_nodes,
                on_demand_step=policy.scale_out.step_budget(od.requested_count, od.units_per_node),
                retry_room=max(0, limits.max_nodes - spot.requested_count),
                # A group keeps asking until its count changes: EMR never gives up on its own.
                emr_gave_up=False,
                commands=commands,
                # Each TASK group keeps to the TASK limits: neither goes below min_nodes.
                min_on_demand=limits.min_nodes,
                min_spot=limits.min_nodes,
            )
        )
    return pairs


def plan_group_resize(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
    *,
    steer_spot: bool = True,
) -> ResizePlan:
    """Plan_group_resize decides as plan_resize does, then falls back from a short Spot TASK group to an On-Demand
    TASK group (or gives the nodes back) where the cluster has both; with `steer_spot` false (EMR Managed Scaling
    attached and tuned, which picks the markets itself) it is plan_resize alone.

    Invariants (on top of plan_resize's): a Spot step takes neither TASK group below `groups.task.min_nodes` (the
    Spot group stays asked for its minimum, and On-Demand is not asked for those nodes as well) nor above
    `max_nodes` (the On-Demand group's cap).
    """
    plan = plan_resize(snapshot, metrics, policy, state, now)
    pairs = group_pairs(snapshot, policy) if steer_spot else []
    if not pairs or plan.reason in EARLY_HOLDS:
        return plan
    memories = remember_spot(plan.next_state, pairs, now)
    next_state = plan.next_state.model_copy(update={"fleets": tuple(memories.values())})
    label = f"cluster {snapshot.name!r} ({snapshot.cluster_id})"
    spot = plan_spot(plan, pairs, memories, next_state, policy, now, label)
    if spot is not None and (spot.acts or not plan.acts):
        return spot
    return plan.model_copy(update={"next_state": next_state})
