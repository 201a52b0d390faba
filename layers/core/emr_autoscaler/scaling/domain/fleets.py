"""Fleets: plan_fleet_resize, the scaling policy for instance-fleet clusters. Pure, like plan_resize.

The group policy decides for fleets too: each scalable fleet is shown to it as a group of *units* (its target and
provisioned capacity, On-Demand and Spot together), with one unit's YARN capacity taken from the fleet's instance
types and weights, and the fleet's unit limits as the group's limits. What it decides in units is then split
between the markets: growth goes to the profile's `grow_market` (On-Demand only up to `max_on_demand_units`),
shrinks take the On-Demand units bought for missing Spot first, then `shrink_market` (Spot first by default, as
EMR Managed Scaling does). With `on_demand_share_pct` set, both move On-Demand towards that share of the new
total instead (within the cap), Spot taking the rest.

Spot shortage: a fleet whose Spot target stays above its provisioned Spot for `fleets.spot.shortage_timeout_s`
is short. The missing units are asked of On-Demand within the cap (SCALE_SPOT_FALLBACK), and Spot stops being
asked for them, as EMR itself stops after the same timeout
(https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-timeout-events.html). When the cap
leaves nothing to add the fleet holds (HOLD_SPOT_SHORT, one notice per episode). `retry_after_s` later Spot is
asked again for those units (within `max_units`); once it has them, the On-Demand units go (SCALE_SPOT_GIVE_BACK).

Interruptions steer the market: EMR picks a fleet's instance types itself, so a fleet one of whose types was
reclaimed `fleets.spot.reclaimed_limit` times within `reclaimed_window_s` grows On-Demand first (within the cap).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.fleets import FleetLimits, Market
from emr_autoscaler.kernel.config.scaling import GroupLimits, GroupsConfig, NodeCapacity, ScalingPolicy
from emr_autoscaler.kernel.models import (
    ACTIVE_CLUSTER_STATES,
    ClusterSnapshot,
    GroupRole,
    GroupState,
    InstanceFleetCapacity,
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    FleetMemory,
    ReasonCode,
    ResizeInstanceFleet,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.scaling.domain.plan import plan_resize
from emr_autoscaler.scaling.domain.planner import Planner
from emr_autoscaler.scaling.domain.spot import EARLY_HOLDS, SpotPair, plan_spot, reclaimed_often, remember_spot

# The group policy sees one "instance type" per fleet: a unit of it. Its capacity is put in the policy's
# node_capacity under this name, so the policy never guesses a unit's size from per-node metrics.
UNIT_TYPE_PREFIX = "unit-of:"


def fleet_limits(policy: ScalingPolicy, role: GroupRole) -> FleetLimits | None:
    """Fleet_limits is the unit limits of a fleet role; None for MASTER (never resized)."""
    if role is GroupRole.TASK:
        return policy.fleets.task
    if role is GroupRole.CORE:
        return policy.fleets.core
    return None


def unit_capacity(fleet: InstanceFleetCapacity, policy: ScalingPolicy) -> NodeCapacity | None:
    """Unit_capacity is what one unit of the fleet offers YARN: the smallest of its types' capacity per unit.

    The smallest, because EMR picks the types it launches: sizing on the leanest keeps the estimate on the safe
    side. None when a type's capacity is neither configured nor known.
    """
    per_unit: list[NodeCapacity] = []
    for spec in fleet.instance_types:
        node = policy.capacity_of(spec.instance_type)
        if node is None:
            return None
        weight = spec.weighted_capacity
        per_unit.append(NodeCapacity(memory_mb=max(1, node.memory_mb // weight), vcores=max(1, node.vcores // weight)))
    if not per_unit:
        return None
    return NodeCapacity(memory_mb=min(c.memory_mb for c in per_unit), vcores=min(c.vcores for c in per_unit))


def _unit_group(fleet: InstanceFleetCapacity) -> InstanceGroupCapacity:
    return InstanceGroupCapacity(
        group_id=fleet.fleet_id,
        name=fleet.name,
        role=fleet.role,
        instance_type=UNIT_TYPE_PREFIX + fleet.fleet_id,
        state=fleet.state,
        requested_count=fleet.target_units,
        running_count=fleet.provisioned_units,
        # Step budgets count nodes: one node is at least the lightest type's weight.
        units_per_node=min((t.weighted_capacity for t in fleet.instance_types), default=1),
    )


def _as_group_limits(limits: FleetLimits) -> GroupLimits:
    return GroupLimits(min_nodes=limits.min_units, max_nodes=limits.max_units, scalable=limits.scalable)


def unit_view(snapshot: ClusterSnapshot, policy: ScalingPolicy) -> tuple[ClusterSnapshot, ScalingPolicy, list[str]]:
    """Unit_view is the fleet cluster as the group policy sees it (one group of units per fleet), the policy with
    the fleets' unit limits and unit capacities, and the instance types whose capacity is unknown.

    Only the fleets the scaler may resize need a known capacity: an unknown type on the MASTER fleet, or on a CORE
    fleet the profile leaves alone, holds nothing.
    """
    unknown: list[str] = []
    capacities = dict(policy.node_capacity)
    scalable = {GroupRole.TASK: policy.fleets.task.scalable, GroupRole.CORE: policy.fleets.core.scalable}
    for fleet in snapshot.fleets:
        capacity = unit_capacity(fleet, policy)
        if capacity is None and not scalable.get(fleet.role, False):
            continue
        if capacity is None:
            unknown.extend(t.instance_type for t in fleet.instance_types if policy.capacity_of(t.instance_type) is None)
            if not fleet.instance_types:
                unknown.append(f"(none listed for {fleet.name})")
        else:
            capacities[UNIT_TYPE_PREFIX + fleet.fleet_id] = capacity
    groups = GroupsConfig(task=_as_group_limits(policy.fleets.task), core=_as_group_limits(policy.fleets.core))
    view = snapshot.model_copy(update={"groups": tuple(_unit_group(f) for f in snapshot.fleets)})
    return view, policy.model_copy(update={"groups": groups, "node_capacity": capacities}), sorted(set(unknown))


def _in_units(text: str) -> str:
    return text.replace("node(s)", "unit(s)").replace(" nodes", " units").replace(" node ", " unit ")


def plan_fleet_resize(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
    *,
    steer_spot: bool = True,
) -> ResizePlan:
    """Plan_fleet_resize decides how to resize an instance-fleet cluster's fleets now, in units, and why.

    With `steer_spot` false (EMR Managed Scaling attached and tuned: it picks the markets itself, and only the
    total becomes its limits) there is no Spot fallback, give-back or restore after an interruption, and no Spot
    memory is made or changed: the fleets' memory stays as it was.

    Invariants (on top of plan_resize's): a fleet's total target stays within [min_units, max_units], Spot steps
    included (a fallback or a withdrawal keeps Spot asked for what min_units needs; a retry stays within
    max_units); its On-Demand target never rises above `max_on_demand_units`; MASTER fleets are never resized.
    """
    view, unit_policy, unknown = unit_view(snapshot, policy)
    if unknown and snapshot.opted_in and snapshot.state in ACTIVE_CLUSTER_STATES:
        p = Planner(view, metrics, unit_policy, state, now)
        p.check("node_capacity", False, f"unknown YARN capacity for {', '.join(unknown)}")
        return p.plan(
            ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
            f"Holding {p.label}: its fleets may launch {', '.join(unknown)}, whose YARN capacity is unknown; "
            "set node_capacity for them in the profile.",
        )
    plan = plan_resize(view, metrics, unit_policy, state, now)
    plan = plan.model_copy(update={"explanation": _in_units(plan.explanation)})
    if plan.reason in EARLY_HOLDS:
        return plan
    fleets = [f for f in snapshot.fleets if (lim := fleet_limits(policy, f.role)) is not None and lim.scalable]
    if not steer_spot:
        kept_memory = {f.fleet_id: plan.next_state.fleet(f.fleet_id) for f in fleets}
        split = _split_plan(plan, fleets, kept_memory, plan.next_state, policy, {})
        return split.model_copy(update={"next_state": plan.next_state})
    pairs = [_pair(f, policy) for f in fleets]
    memories = remember_spot(plan.next_state, pairs, now)
    next_state = plan.next_state.model_copy(update={"fleets": tuple(memories.values())})
    label = f"cluster {snapshot.name!r} ({snapshot.cluster_id})"
    # A replacement whose target came back is remembered an hour (a late copy of the warning is still known).
    kept = tuple(r for r in next_state.replacements if not (r.restored and now - r.gone_after > _REPLACEMENT_MEMORY))
    next_state = next_state.model_copy(update={"replacements": kept})
    restored = restore_after_interruption(plan, fleets, next_state, policy, now, label)
    if restored is not None:
        return restored
    spot = plan_spot(plan, pairs, memories, next_state, policy, now, label)
    if spot is not None and (spot.acts or not plan.acts):
        return spot
    reclaimed = {
        f.fleet_id: reclaimed_often(next_state, [t.instance_type for t in f.instance_types], policy, now)
        for f in fleets
    }
    return _split_plan(plan, fleets, memories, next_state, policy, reclaimed)


# How long a replacement is remembered after its target came back: a late copy of the warning is still known.
_REPLACEMENT_MEMORY = timedelta(hours=1)


def restore_after_interruption(
    plan: ResizePlan,
    fleets: list[InstanceFleetCapacity],
    next_state: ScalingState,
    policy: ScalingPolicy,
    now: datetime,
    label: str,
) -> ResizePlan | None:
    """Once an interrupted instance is gone (a minute past EC2's two-minute warning), the units asked for in its
    place come off the target again: EMR would otherwise replenish the fleet on top of the replacement."""
    by_id = {f.fleet_id: f for f in fleets}
    for replacement in next_state.replacements:
        fleet = by_id.get(replacement.fleet_id)
        if replacement.restored or fleet is None or now < replacement.gone_after + timedelta(minutes=1):
            continue
        on_demand, spot = fleet.target_on_demand, fleet.target_spot
        if replacement.market == "ON_DEMAND":
            on_demand = max(0, on_demand - replacement.units)
        else:
            spot = max(0, spot - replacement.units)
        done = replacement.model_copy(update={"restored": True})
        replacements = tuple(done if r is replacement else r for r in next_state.replacements)
        return plan.model_copy(
            update={
                "reason": ReasonCode.SCALE_REPLACE_INTERRUPTED,
                "explanation": f"Replacing on {label}: Spot instance {replacement.ec2_instance_id} of fleet "
                f"{fleet.name!r} ({fleet.fleet_id}) is gone and its replacement takes its place, so the "
                f"{replacement.units} unit(s) asked for it come off the target: On-Demand {fleet.target_on_demand} "
                f"→ {on_demand}, Spot {fleet.target_spot} → {spot}.",
                "commands": (fleet_command(fleet, on_demand, spot, policy),),
                "next_state": next_state.model_copy(update={"replacements": replacements}),
            }
        )
    return None


def _pair(fleet: InstanceFleetCapacity, policy: ScalingPolicy) -> SpotPair:
    """The fleet's two markets as a SpotPair: units, the fleet's On-Demand cap, retries within max_units."""
    limits = fleet_limits(policy, fleet.role)
    assert limits is not None  # only scalable fleets are paired

    def commands(on_demand: int, spot: int) -> tuple[ResizeInstanceGroup, ...]:
        return (fleet_command(fleet, on_demand, spot, policy),)

    return SpotPair(
        key=fleet.fleet_id,
        name=f"fleet {fleet.name!r} ({fleet.fleet_id})",
        unit="unit",
        target_on_demand=fleet.target_on_demand,
        target_spot=fleet.target_spot,
        provisioned_spot=fleet.provisioned_spot,
        max_on_demand=limits.max_on_demand_units,
        # In units, as the fleet's own budget counts them: max_step_nodes of its lightest type.
        on_demand_step=policy.scale_out.step_budget(
            fleet.target_on_demand, min((t.weighted_capacity for t in fleet.instance_types), default=1)
        ),
        retry_room=max(0, limits.max_units - fleet.target_units),
        # A fleet RUNNING while short: its Spot timeout passed and EMR stopped asking.
        emr_gave_up=fleet.state is not GroupState.RESIZING,
        commands=commands,
        min_total=limits.min_units,
    )


def fleet_command(
    fleet: InstanceFleetCapacity, to_on_demand: int, to_spot: int, policy: ScalingPolicy, timeout_s: int | None = None
) -> ResizeInstanceFleet:
    grows_spot = to_spot > fleet.target_spot
    return ResizeInstanceFleet(
        group_id=fleet.fleet_id,
        group_name=fleet.name,
        role=fleet.role,
        from_count=fleet.target_units,
        to_count=to_on_demand + to_spot,
        decommission_timeout_s=timeout_s,
        from_on_demand=fleet.target_on_demand,
        from_spot=fleet.target_spot,
        to_on_demand=to_on_demand,
        to_spot=to_spot,
        spot_timeout_minutes=policy.fleets.spot.shortage_timeout_s // 60 if grows_spot else None,
    )


def _split_plan(
    plan: ResizePlan,
    fleets: list[InstanceFleetCapacity],
    memories: dict[str, FleetMemory],
    next_state: ScalingState,
    policy: ScalingPolicy,
    reclaimed: dict[str, list[str]],
) -> ResizePlan:
    """The group policy's decision in units, each fleet's change split between On-Demand and Spot.

    A fleet whose Spot was reclaimed often lately (`reclaimed`, per fleet) grows On-Demand first, within the cap.
    """
    by_id = {f.fleet_id: f for f in fleets}
    commands: list[ResizeInstanceGroup] = []
    notes: list[str] = []
    for command in plan.commands:
        fleet = by_id[command.group_id]
        limits = fleet_limits(policy, fleet.role)
        assert limits is not None
        unreliable = reclaimed.get(fleet.fleet_id, [])
        memory, to_on_demand, to_spot = _split(
            fleet, limits, memories[fleet.fleet_id], command.to_count, on_demand_first=bool(unreliable)
        )
        memories = {**memories, memory.fleet_id: memory}
        commands.append(fleet_command(fleet, to_on_demand, to_spot, policy, command.decommission_timeout_s))
        if unreliable and to_on_demand > fleet.target_on_demand:
            notes.append(
                f" Fleet {fleet.name!r} grows On-Demand first (within its cap of {limits.max_on_demand_units}): "
                f"its Spot was reclaimed often lately ({', '.join(unreliable)})."
            )
    state = next_state.model_copy(update={"fleets": tuple(memories.values())})
    explanation = plan.explanation + "".join(notes)
    return plan.model_copy(update={"commands": tuple(commands), "next_state": state, "explanation": explanation})


def _split(
    fleet: InstanceFleetCapacity, limits: FleetLimits, memory: FleetMemory, to_units: int, on_demand_first: bool = False
) -> tuple[FleetMemory, int, int]:
    """Split a new total between the markets: (memory, On-Demand target, Spot target); `on_demand_first` grows
    On-Demand first whatever the profile's market or share (Spot reclaimed often)."""
    on_demand, spot = fleet.target_on_demand, fleet.target_spot
    delta = to_units - fleet.target_units
    goal = limits.on_demand_goal(to_units)
    if delta > 0:
        # Spot units merely in flight are not a shortage; a fallback in force is (Spot did not come last time).
        spot_short = memory.fallback_units > 0
        room = max(0, limits.max_on_demand_units - on_demand)
        if spot_short or on_demand_first or (goal is None and limits.grow_market is Market.ON_DEMAND):
            added = min(delta, room)
        elif goal is not None:
            added = min(delta, room, max(0, goal - on_demand))
        else:
            added = 0
        if spot_short:
            memory = memory.model_copy(update={"fallback_units": memory.fallback_units + added})
        return memory, on_demand + added, spot + delta - added
    take = -delta
    # On-Demand units bought for missing Spot go first: they were never meant to stay.
    fallback = min(take, memory.fallback_units, on_demand)
    on_demand, take = on_demand - fallback, take - fallback
    memory = memory.model_copy(update={"fallback_units": memory.fallback_units - fallback})
    if goal is not None:
        # On-Demand gives up what it holds above its share of the new total; Spot gives the rest while it can.
        from_on_demand = min(take, max(0, on_demand - goal))
        from_spot = min(take - from_on_demand, spot)
        return memory, on_demand - (take - from_spot), spot - from_spot
    if limits.shrink_market is Market.SPOT:
        from_spot = min(take, spot)
        return memory, on_demand - (take - from_spot), spot - from_spot
    from_on_demand = min(take, on_demand)
    return memory, on_demand - from_on_demand, spot - (take - from_on_demand)
