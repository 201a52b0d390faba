"""Interruptions: plan_interruption, what to do when EC2 is about to reclaim a Spot instance of a fleet. Pure.

EC2 warns two minutes before it reclaims a Spot instance
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html); a new node takes
minutes to join YARN. So where the cluster still needs the capacity (demand pending, or utilization at or above
the scale-in threshold) the units the instance counts for are asked for at once: on Spot, or on On-Demand within
the cap when the fleet's Spot is short. Once the instance is gone the target comes back down by as much
(fleets.restore_after_interruption), since EMR would otherwise replenish the fleet a second time. Each
interruption is counted per instance type in the cluster's state, and remembered per instance whether replaced or
not: the same warning twice is replaced (and counted) once. EMR's own node-loss notification counts the instances
it lost the same way (`count_losses`: one already warned of is not counted again), and an instance group's warning
is counted, not replaced (`plan_group_interruption`). The counts
steer the next scale-out: a Spot TASK group whose type was reclaimed less grows first (`Planner.scalable_groups`),
a fleet whose types were reclaimed often grows, and replaces, On-Demand first (`spot.reclaimed_often`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, InstanceLocation, YarnMetrics
from emr_autoscaler.scaling.domain.decisions import (
    MAX_RECENT_INTERRUPTIONS,
    InterruptionCount,
    ReasonCode,
    Replacement,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.scaling.domain.fleets import fleet_command, fleet_limits, unit_view
from emr_autoscaler.scaling.domain.guards import check_guards
from emr_autoscaler.scaling.domain.planner import Planner
from emr_autoscaler.scaling.domain.spot import reclaimed_often
from emr_autoscaler.scaling.domain.spot_groups import plan_group_resize

# EC2's notice comes two minutes before the instance goes.
WARNING_LEAD = timedelta(minutes=2)


def counted(state: ScalingState, instance_type: str, now: datetime) -> ScalingState:
    """Counted is the state with one more Spot interruption of `instance_type` at `now` (per cluster and type)."""
    counts = {c.instance_type: c for c in state.interruptions}
    seen = counts.get(instance_type, InterruptionCount(instance_type=instance_type, count=0))
    counts[instance_type] = seen.model_copy(
        update={"count": seen.count + 1, "recent": (*seen.recent, now)[-MAX_RECENT_INTERRUPTIONS:]}
    )
    return state.model_copy(update={"interruptions": tuple(counts[t] for t in sorted(counts))})


def plan_interruption(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    location: InstanceLocation,
    now: datetime,
    *,
    steer_spot: bool = True,
) -> ResizePlan:
    """Plan_interruption decides whether, and on which market, to replace a Spot instance EC2 is about to reclaim;
    with `steer_spot` false (EMR Managed Scaling attached and tuned, which replaces capacity itself) it only counts.

    Invariants: one warning is replaced and counted at most once (a held one is remembered per instance too); a
    fleet's target stays within [min_units, max_units] and its On-Demand target within `max_on_demand_units`;
    nothing is added on missing metrics or for a cluster that does not need the capacity (EMR replenishes the fleet
    after the loss by itself).
    """
    view, unit_policy, _unknown = unit_view(snapshot, policy)
    p = Planner(view, metrics, unit_policy, state, now)
    held = check_guards(p)
    if held is not None:
        return held
    instance = f"Spot instance {location.ec2_instance_id} ({location.instance_type or 'type unknown'})"
    known = next((r for r in state.replacements if r.ec2_instance_id == location.ec2_instance_id), None)
    if known is not None:
        already = "already counted (not replaced)" if known.restored else "already being replaced"
        return p.plan(
            ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED,
            f"Holding {p.label}: the interruption of {instance} is {already}.",
        )
    counted_state = counted(state, location.instance_type or "unknown", now)

    def hold(why: str) -> ResizePlan:
        # Remembered as counted (nothing to take off a target), so that a copy of the warning or EMR's node-loss
        # notification for the same instance is not counted again.
        seen = (*state.replacements, _counted_only(location, now))
        return p.plan(
            ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED,
            f"Holding {p.label}: EC2 reclaims {instance} in two minutes; not replaced in advance: {why}.",
            next_state=counted_state.model_copy(update={"replacements": seen}),
        )

    if not steer_spot:
        return hold("EMR Managed Scaling, tuned by this scaler, picks the markets and replaces capacity itself")
    fleet = next((f for f in snapshot.fleets if f.fleet_id == location.fleet_id), None)
    limits = fleet_limits(policy, fleet.role) if fleet is not None else None
    if fleet is None or limits is None or not limits.scalable:
        return hold("it is not in a fleet the scaler may resize")
    assert metrics is not None  # check_guards holds on missing metrics
    threshold = policy.scale_in.utilization_threshold_pct
    if not metrics.demand_pending and metrics.utilization_pct < threshold:
        return hold(f"the cluster does not need it now (utilization {metrics.utilization_pct:.0f}% < {threshold:.0f}%)")
    units = next((t.weighted_capacity for t in fleet.instance_types if t.instance_type == location.instance_type), 1)
    if fleet.target_units + units > limits.max_units:
        return hold(f"fleet {fleet.name!r} is at its max_units ({limits.max_units}); EMR replenishes it afterwards")
    memory = state.fleet(fleet.fleet_id)
    spot_short = memory.fallback_units > 0 or (
        memory.spot_short_since is not None
        and now - memory.spot_short_since >= timedelta(seconds=policy.fleets.spot.shortage_timeout_s)
    )
    # Counting this one: a type reclaimed this often is not asked of Spot again now.
    reclaimed = reclaimed_often(counted_state, [t.instance_type for t in fleet.instance_types], policy, now)
    on_demand_room = fleet.target_on_demand + units <= limits.max_on_demand_units
    market = "ON_DEMAND" if (spot_short or reclaimed) and on_demand_room else "SPOT"
    targets = (
        (fleet.target_on_demand + units, fleet.target_spot)
        if market == "ON_DEMAND"
        else (
            fleet.target_on_demand,
            fleet.target_spot + units,
        )
    )
    replacement = Replacement(
        ec2_instance_id=location.ec2_instance_id,
        fleet_id=fleet.fleet_id,
        market=market,
        units=units,
        gone_after=now + WARNING_LEAD,
    )
    if market == "ON_DEMAND":
        where = "On-Demand, as Spot is short" if spot_short else f"On-Demand, as Spot was reclaimed {reclaimed[0]}"
    else:
        where = "Spot"
    return p.plan(
        ReasonCode.SCALE_REPLACE_INTERRUPTED,
        f"Replacing on {p.label}: EC2 reclaims {instance} of fleet {fleet.name!r} ({fleet.fleet_id}) in two "
        f"minutes; its {units} unit(s) are asked of {where} now: On-Demand {fleet.target_on_demand} → {targets[0]}, "
        f"Spot {fleet.target_spot} → {targets[1]}.",
        (fleet_command(fleet, *targets, policy),),
        next_state=counted_state.model_copy(update={"replacements": (*state.replacements, replacement)}),
    )


def plan_group_interruption(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    location: InstanceLocation,
    now: datetime,
    *,
    steer_spot: bool = True,
) -> ResizePlan:
    """Plan_group_interruption counts the interruption of a Spot instance of an instance-group cluster (once per
    instance) and decides as every evaluation does.

    An instance group keeps asking for its requested count, so EMR provisions a node in place of the lost one by
    itself; what the scaler adds is the count per instance type, which makes the next scale-out prefer a TASK group
    whose type was reclaimed less (`Planner.scalable_groups`).
    """
    return plan_group_resize(
        snapshot, metrics, policy, count_losses(state, (location,), now), now, steer_spot=steer_spot
    )


def count_losses(state: ScalingState, lost: tuple[InstanceLocation, ...], now: datetime) -> ScalingState:
    """Count_losses counts each lost (or about to be lost) Spot instance once per cluster and instance type.

    An instance already known (an EC2 warning planned for it, or an earlier EMR node-loss notification) is not
    counted again; each new one is remembered an hour (a record already `restored`: nothing is taken off a target
    for it), the time a late copy of either event can still arrive.
    """
    kept = tuple(r for r in state.replacements if not (r.restored and now - r.gone_after > timedelta(hours=1)))
    for location in lost:
        if any(r.ec2_instance_id == location.ec2_instance_id for r in kept):
            continue
        state = counted(state, location.instance_type or "unknown", now)
        kept = (*kept, _counted_only(location, now))
    return state.model_copy(update={"replacements": kept})


def _counted_only(location: InstanceLocation, now: datetime) -> Replacement:
    """The record of an interruption counted and not replaced: `restored` already, so nothing comes off a target."""
    return Replacement(
        ec2_instance_id=location.ec2_instance_id,
        fleet_id=location.fleet_id or location.group_id or "",
        market=location.market,
        units=1,
        gone_after=now + WARNING_LEAD,
        restored=True,
    )
