"""Other scalers: EMR Managed Scaling and custom automatic scaling policies on a cluster. Pure.

A cluster accepts ModifyInstanceGroups from anyone: where another scaler already resizes it, two scalers would write
counts against each other, so the autoscaler does not resize it (HOLD_OTHER_SCALER, one notice per episode naming
the other scaler and what to do):
- a group's custom automatic scaling policy (ListInstanceGroups' `AutoScalingPolicy`, instance groups only,
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-automatic-scaling.html) in any state but DETACHED
  (https://docs.aws.amazon.com/emr/latest/APIReference/API_AutoScalingPolicyStatus.html);
- EMR Managed Scaling (GetManagedScalingPolicy; groups and fleets, on fleets the only other scaler,
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-scaling.html), unless the profile says
  `managed_scaling: tune`. Then the autoscaler decides as usual and, instead of resizing, sets the policy's
  maximums to the capacity it decided (`plan_tune`), the way AWS's managed scaling dampener moves
  `MaximumCapacityUnits` (https://github.com/aws-samples/aws-emr-utilities/tree/main/utilities/managed-scaling-dampener):
  managed scaling keeps resizing within the limits, and the team gets the autoscaler's cooldowns, budgets and notices.
  Managed scaling picks the markets itself: the Spot fallback, give-back and interruption replacement are not
  planned under it at all (the service passes `steer_spot=False`), so no market move becomes a limit.
An answer the scaler cannot read is a hold too (HOLD_OTHER_SCALER_UNREADABLE): never a resize blind.

Units, honestly converted: a managed scaling policy counts the whole cluster's CORE and TASK capacity
(https://docs.aws.amazon.com/emr/latest/APIReference/API_ComputeLimits.html): `Instances` = nodes of the CORE and
TASK groups; `VCPU` = each node's vCPUs, taken as its instance type's `node_capacity` vcores (EMR's defaults give
YARN one vcore per EC2 vCPU; a `node_capacity` that says otherwise skews the conversion by as much);
`InstanceFleetUnits` = fleet units (each node's WeightedCapacity), as the fleets' targets already count. The desired
capacity is each group's (or fleet's) target after the decision, the groups it does not resize at their requested
size; the new maximum is that, never above the profile's limits summed the same way nor the maximum the team set,
never below the policy's MinimumCapacityUnits. The On-Demand and CORE caps, where the team set them, follow it down
(a cap cannot exceed the maximum) and come back up to the team's values, never above.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from emr_autoscaler.kernel.config.scaling import ManagedScalingMode, ScalingPolicy
from emr_autoscaler.kernel.ids import OPT_IN_TAG
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    GroupRole,
    GroupState,
    InstanceCollection,
    InstanceGroupCapacity,
    ManagedScalingLimits,
    ManagedScalingUnit,
)
from emr_autoscaler.scaling.domain.decisions import (
    GuardCheck,
    ManagedScalingMemory,
    ReasonCode,
    ResizePlan,
    ScalingState,
    TuneManagedScaling,
)

# A policy in this state no longer scales the group (the others are on their way, on, or failed to attach: held).
_DETACHED = "DETACHED"
_REMOVE_MANAGED = "aws emr remove-managed-scaling-policy"
_REMOVE_GROUP_POLICY = "aws emr remove-auto-scaling-policy"


def _label(snapshot: ClusterSnapshot) -> str:
    return f"cluster {snapshot.name!r} ({snapshot.cluster_id})"


def scaling_groups(snapshot: ClusterSnapshot) -> list[InstanceGroupCapacity]:
    """Scaling_groups are the cluster's groups that carry a custom automatic scaling policy not detached."""
    return [g for g in snapshot.groups if g.auto_scaling_policy not in (None, _DETACHED)]


def _units_fit(snapshot: ClusterSnapshot, managed: ManagedScalingLimits) -> bool:
    """Fleet clusters count fleet units, group clusters instances or vCPUs (ComputeLimits' UnitType)."""
    fleets = snapshot.collection is InstanceCollection.INSTANCE_FLEET
    return (managed.unit_type is ManagedScalingUnit.INSTANCE_FLEET_UNITS) == fleets


def other_scalers(snapshot: ClusterSnapshot, managed: ManagedScalingLimits | None) -> list[str]:
    """Other_scalers names each scaler besides this one that resizes the cluster."""
    names = [f"EMR Managed Scaling ({managed.describe()})"] if managed is not None else []
    names += [
        f"the automatic scaling policy of group {g.name!r} ({g.group_id}, {g.auto_scaling_policy})"
        for g in scaling_groups(snapshot)
    ]
    return names


def check_other_scalers(
    snapshot: ClusterSnapshot,
    managed: ManagedScalingLimits | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
) -> ResizePlan | None:
    """Check_other_scalers holds a cluster another scaler resizes (HOLD_OTHER_SCALER); None when there is none, or
    when the only one is EMR Managed Scaling and the profile tunes it (see plan_tune)."""
    groups = scaling_groups(snapshot)
    if managed is None and not groups:
        return None
    tune = policy.managed_scaling is ManagedScalingMode.TUNE
    if managed is not None and not groups and tune and _units_fit(snapshot, managed):
        return None
    names = other_scalers(snapshot, managed)
    if groups:
        todo = f"detach the groups' automatic scaling policies ({_REMOVE_GROUP_POLICY})"
        if managed is not None:
            todo += f" and EMR Managed Scaling ({_REMOVE_MANAGED}, or keep it with `managed_scaling: tune`)"
        todo += " to let the autoscaler resize it"
    elif tune:
        assert managed is not None  # narrowed: no group policy, so managed scaling is the other scaler
        todo = (
            f"its limits count {managed.unit_type}, which the autoscaler cannot convert on an "
            f"{snapshot.collection} cluster; detach it ({_REMOVE_MANAGED}) or set `managed_scaling: hold`"
        )
    else:
        todo = (
            f"detach it ({_REMOVE_MANAGED}) to let the autoscaler resize the cluster, or set `managed_scaling: tune` "
            "in its profile to keep it and have the autoscaler tune its maximum instead"
        )
    who = " and ".join(names)
    return ResizePlan(
        cluster_id=snapshot.cluster_id,
        decided_at=now,
        reason=ReasonCode.HOLD_OTHER_SCALER,
        explanation=f"Holding {_label(snapshot)}: {who} already resizes it, and two scalers would write counts "
        f"against each other; {todo}.",
        checks=(*_cluster_checks(snapshot), GuardCheck(name="other_scalers", passed=False, detail=who)),
        next_state=state,
    )


def hold_other_scaler_unreadable(snapshot: ClusterSnapshot, state: ScalingState, now: datetime, why: str) -> ResizePlan:
    """Hold_other_scaler_unreadable: the scaler cannot tell whether EMR Managed Scaling drives the cluster (its
    answer refused, throttled, or of an unknown shape); it holds, with a notice once per episode."""
    return ResizePlan(
        cluster_id=snapshot.cluster_id,
        decided_at=now,
        reason=ReasonCode.HOLD_OTHER_SCALER_UNREADABLE,
        explanation=f"Holding {_label(snapshot)}: the scaler cannot tell whether EMR Managed Scaling resizes it "
        f"({why}), and never resizes a cluster another scaler may drive; it asks again at the next evaluation.",
        checks=(
            *_cluster_checks(snapshot),
            GuardCheck(name="other_scalers", passed=False, detail=f"managed scaling unreadable: {why}"),
        ),
        next_state=state,
    )


# Market moves (Spot fallback, its retry and give-back, an interruption's replacement or its restore): never limits.
_MARKET_MOVES = frozenset(
    {ReasonCode.SCALE_SPOT_FALLBACK, ReasonCode.SCALE_SPOT_GIVE_BACK, ReasonCode.SCALE_REPLACE_INTERRUPTED}
)

# Holds with no demand pending on a settled cluster: the maximum is pinned to the cluster's size, as the dampener
# resets it once nothing has been pending for a while, so managed scaling grows only when this scaler decides.
_PIN_ON = frozenset({ReasonCode.HOLD_STEADY, ReasonCode.HOLD_AT_MIN})


def _settled(snapshot: ClusterSnapshot) -> bool:
    """Settled: every CORE and TASK group (or fleet) has what it asked for; nothing starts or drains."""
    groups = all(g.settled for g in snapshot.groups if g.role is not GroupRole.MASTER)
    fleets = all(
        f.target_units == f.provisioned_units and f.state is GroupState.RUNNING
        for f in snapshot.fleets
        if f.role is not GroupRole.MASTER
    )
    return groups and fleets


def _cluster_checks(snapshot: ClusterSnapshot) -> tuple[GuardCheck, ...]:
    """The checks the service passed before asking about other scalers (opted in, active), as `explain` lists them."""
    return (
        GuardCheck(name="opted_in", passed=True, detail=f"tag {OPT_IN_TAG}={snapshot.tags.get(OPT_IN_TAG, '')}"),
        GuardCheck(name="cluster_active", passed=True, detail=f"cluster state {snapshot.state}"),
    )


def _with_check(plan: ResizePlan, detail: str) -> ResizePlan:
    """The plan with a passed `other_scalers` check after the cluster's own (opted in, active)."""
    check = GuardCheck(name="other_scalers", passed=True, detail=detail)
    return plan.model_copy(update={"checks": (*plan.checks[:2], check, *plan.checks[2:])})


def _unit_of(managed: ManagedScalingLimits, policy: ScalingPolicy) -> Callable[[str], int | None]:
    """How many of the policy's units one node of an instance type counts for (None: unknown)."""
    if managed.unit_type is ManagedScalingUnit.VCPU:

        def vcpus(instance_type: str) -> int | None:
            capacity = policy.capacity_of(instance_type)
            return capacity.vcores if capacity is not None else None

        return vcpus
    return lambda _instance_type: 1


def _capacity(
    snapshot: ClusterSnapshot, managed: ManagedScalingLimits, policy: ScalingPolicy, targets: dict[str, int]
) -> tuple[int, int] | str:
    """(desired units, the profile's ceiling in units) after `targets` (group or fleet id -> count), or why not."""
    if snapshot.collection is InstanceCollection.INSTANCE_FLEET:
        desired = ceiling = 0
        for fleet in (f for f in snapshot.fleets if f.role is not GroupRole.MASTER):
            limits = policy.fleets.task if fleet.role is GroupRole.TASK else policy.fleets.core
            target = targets.get(fleet.fleet_id, fleet.target_units)
            desired += target
            ceiling += max(limits.max_units, target) if limits.scalable else target
        return desired, ceiling
    unit = _unit_of(managed, policy)
    desired = ceiling = 0
    for group in (g for g in snapshot.groups if g.role is not GroupRole.MASTER):
        per_node = unit(group.instance_type)
        if per_node is None:
            return f"the vCPUs of {group.instance_type} (group {group.name!r}) are unknown: set node_capacity"
        group_limits = policy.groups.task if group.role is GroupRole.TASK else policy.groups.core
        target = targets.get(group.group_id, group.requested_count)
        desired += target * per_node
        ceiling += (max(group_limits.max_nodes, target) if group_limits.scalable else target) * per_node
    return desired, ceiling


def plan_tune(
    plan: ResizePlan,
    snapshot: ClusterSnapshot,
    managed: ManagedScalingLimits | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
) -> ResizePlan:
    """Plan_tune turns a decision on a cluster whose managed scaling the profile tunes into new policy limits.

    Without managed scaling the plan stands (with its `other_scalers` check). A plan that does not act stands too:
    managed scaling keeps the limits it has. A plan that resizes becomes SCALE_MANAGED_SCALING_LIMITS with no resize
    command and the new limits (see the module's docstring for the units), or HOLD_MANAGED_SCALING_TUNED when the
    limits already say so; it keeps the decision's cooldown clocks either way only when it acts. A market move (Spot
    fallback, give-back, interruption replacement) is never a limit: HOLD_MANAGED_SCALING_TUNED, its memory dropped.
    """
    if managed is None:
        return _with_check(plan, "none")
    tuned = f"EMR Managed Scaling ({managed.describe()}), tuned by this scaler (managed_scaling: tune)"
    if plan.reason in _MARKET_MOVES:
        # Managed scaling picks the markets itself (the service does not plan these under it): a market move is no
        # limit, and none of its Spot memory is kept.
        return _tuned_hold(
            plan,
            tuned,
            f"Holding {_label(snapshot)}: EMR Managed Scaling picks the markets itself, so a market move "
            f"({plan.reason}) is neither made nor written as a limit.",
            state,
        )
    pin = not plan.acts and plan.reason in _PIN_ON and _settled(snapshot)
    if not plan.acts and not pin:
        return _with_check(plan, tuned)
    label = _label(snapshot)
    capacity = _capacity(snapshot, managed, policy, {c.group_id: c.to_count for c in plan.commands})
    if isinstance(capacity, str):
        return _with_check(plan, tuned).model_copy(
            update={
                "reason": ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
                "explanation": f"Holding {label}: its managed scaling counts vCPUs and {capacity}.",
                "commands": (),
                "next_state": state,
            }
        )
    desired, profile_ceiling = capacity
    memory = state.managed_scaling
    ours = memory is not None and memory.written == managed
    team = memory.team if memory is not None and ours else managed
    ceiling = min(profile_ceiling, team.maximum_units)
    maximum = max(managed.minimum_units, min(desired, ceiling))
    if plan.nodes_delta > 0 and ours and maximum < managed.maximum_units:
        # A scale-out never takes back what this scaler allowed before: managed scaling has not used it all yet.
        maximum = managed.maximum_units
    to_limits = managed.model_copy(
        update={
            "maximum_units": maximum,
            "maximum_on_demand_units": None
            if team.maximum_on_demand_units is None
            else min(team.maximum_on_demand_units, maximum),
            "maximum_core_units": None if team.maximum_core_units is None else min(team.maximum_core_units, maximum),
        }
    )
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in plan.commands) or "its size now"
    wanted = f"{desired} {managed.unit_type} wanted ({steps})"
    if maximum != desired:
        wanted += f", kept within [{managed.minimum_units}, {ceiling}] (the policy's minimum, the profile's maximum)"
    if to_limits == managed:
        return _tuned_hold(
            plan,
            tuned,
            f"Holding {label}: {wanted}, and EMR Managed Scaling's limits ({managed.describe()}) already allow it; "
            "managed scaling resizes it within them.",
            state,
        )
    command = TuneManagedScaling(from_limits=managed, to_limits=to_limits, desired_units=desired)
    why = (
        "no demand is pending, so it grows again only when this scaler decides so" if pin else "instead of resizing it"
    )
    return _with_check(plan, tuned).model_copy(
        update={
            "reason": ReasonCode.SCALE_MANAGED_SCALING_LIMITS,
            "explanation": f"Tuning EMR Managed Scaling of {label}, {command.describe()} ({why}): "
            f"{wanted}. {plan.explanation}",
            "commands": (),
            "managed_scaling": command,
            "next_state": plan.next_state.model_copy(
                update={"managed_scaling": ManagedScalingMemory(written=to_limits, team=team)}
            ),
        }
    )


def _tuned_hold(plan: ResizePlan, tuned: str, explanation: str, state: ScalingState) -> ResizePlan:
    """HOLD_MANAGED_SCALING_TUNED: nothing resized nor written; of the decision's state only what it learned."""
    return _with_check(plan, tuned).model_copy(
        update={
            "reason": ReasonCode.HOLD_MANAGED_SCALING_TUNED,
            "explanation": explanation,
            "commands": (),
            "spot": None,
            "next_state": state.model_copy(update=_learned(plan.next_state)),
        }
    )


def _learned(next_state: ScalingState) -> dict[str, object]:
    """What the decision learned of the cluster (backlog drain, start delay, demand peak, the stabilization window):
    kept when the decision is not acted on; its cooldown clocks and Spot memory are not."""
    fields = (
        "low_utilization_since",
        "last_pending_mb",
        "last_read_at",
        "backlog_kept",
        "start_delay_s",
        "demand_peak_mb",
        "demand_peak_at",
    )
    return {name: getattr(next_state, name) for name in fields}
