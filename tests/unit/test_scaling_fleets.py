"""plan_fleet_resize: fleet clusters in units, the split between On-Demand and Spot, the Spot fallback and give-back.

Each case is a difference from the healthy fleet cluster the builders make (a master fleet, a CORE fleet of 8
On-Demand units, a TASK fleet of 8 Spot units, m5.xlarge = 4 units and m5.2xlarge = 8, idle fresh metrics).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from emr_autoscaler.kernel.config.scaling import NodeCapacity
from emr_autoscaler.kernel.models import FleetInstanceType, GroupRole, InstanceFleetCapacity
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode, ResizeInstanceFleet, ScalingState
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize, unit_capacity
from tests.unit.domain_builders import (
    CLUSTER_ID,
    NOW,
    UNIT_MB,
    ago,
    fleet,
    fleet_snapshot,
    metrics,
    policy,
    state,
)

# Most of 4 nodes' memory allocated: no scale-in, whatever the window.
BUSY = {"allocated_mb": 4 * 12288 - 1024, "allocated_vcores": 12}


def _only_command(plan: object) -> ResizeInstanceFleet:
    commands = plan.commands  # type: ignore[attr-defined]
    assert len(commands) == 1, plan
    command = commands[0]
    assert isinstance(command, ResizeInstanceFleet)
    return command


def test_unit_capacity_is_the_leanest_type_per_unit() -> None:
    # GIVEN a fleet of m5.xlarge (12 GB, 4 vcores) counting 4 units and r5.xlarge (24 GB, 4 vcores) counting 2
    types = (
        FleetInstanceType(instance_type="m5.xlarge", weighted_capacity=4),
        FleetInstanceType(instance_type="r5.xlarge", weighted_capacity=2),
    )
    # WHEN one unit's capacity is worked out
    capacity = unit_capacity(fleet(types=types), policy())
    # THEN it is the smaller memory and vcores per unit of the two (3 GB, 1 vcore), never the larger
    assert capacity == NodeCapacity(memory_mb=3072, vcores=1)


def test_pending_demand_grows_the_task_fleet_in_spot_units() -> None:
    # GIVEN a busy fleet cluster with memory pending for 12 units
    cluster = fleet_snapshot()
    yarn = metrics(pending_mb=12 * UNIT_MB, **BUSY)
    # WHEN the planner decides
    plan = plan_fleet_resize(cluster, yarn, policy(), state(), NOW)
    # THEN the TASK fleet grows on Spot (the default grow market), within max_units, On-Demand untouched,
    # and the sentence speaks of units
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND, plan.explanation
    command = _only_command(plan)
    assert command.group_id == "if-TASK1"
    assert command.to_on_demand == 0
    assert 8 < command.to_spot <= 80
    assert command.spot_timeout_minutes == 15
    assert "unit" in plan.explanation


def test_on_demand_first_growth_stops_at_the_cap_and_the_rest_goes_to_spot() -> None:
    # GIVEN a profile growing On-Demand first with a cap of 4 units, and demand for many units
    scaling_policy = policy(fleets={"task": {"grow_market": "on_demand", "max_on_demand_units": 4}})
    yarn = metrics(pending_mb=40 * UNIT_MB, **BUSY)
    # WHEN the planner decides
    plan = plan_fleet_resize(fleet_snapshot(), yarn, scaling_policy, state(), NOW)
    # THEN On-Demand rises to its cap only, and Spot takes the rest
    command = _only_command(plan)
    assert command.to_on_demand == 4
    assert command.to_spot == command.to_count - 4
    assert command.to_spot > 8


def test_on_demand_share_splits_growth_towards_the_share_of_the_new_total() -> None:
    # GIVEN a profile keeping a quarter of the TASK fleet On-Demand, and demand for 24 more units
    scaling_policy = policy(fleets={"task": {"on_demand_share_pct": 25}}, scale_out={"max_step_nodes": 100})
    yarn = metrics(pending_mb=24 * UNIT_MB, **BUSY)
    # WHEN the planner grows the fleet of 8 Spot units
    command = _only_command(plan_fleet_resize(fleet_snapshot(), yarn, scaling_policy, state(), NOW))
    # THEN On-Demand gets a quarter of the new total (rounded), Spot the rest
    assert command.to_count > 8
    assert command.to_on_demand == round(command.to_count * 0.25)
    assert command.to_spot == command.to_count - command.to_on_demand


def test_on_demand_share_stays_within_the_cap() -> None:
    # GIVEN a share of 90% but a cap of 5 On-Demand units
    scaling_policy = policy(fleets={"task": {"on_demand_share_pct": 90, "max_on_demand_units": 5}})
    yarn = metrics(pending_mb=40 * UNIT_MB, **BUSY)
    command = _only_command(plan_fleet_resize(fleet_snapshot(), yarn, scaling_policy, state(), NOW))
    # THEN On-Demand stops at the cap and Spot carries the rest
    assert command.to_on_demand == 5
    assert command.to_spot == command.to_count - 5


def test_on_demand_share_on_shrink_takes_on_demand_above_its_share_first() -> None:
    # GIVEN a share of 50% and an idle fleet of 12 On-Demand and 4 Spot units
    scaling_policy = policy(fleets={"task": {"on_demand_share_pct": 50}})
    cluster = fleet_snapshot(fleet(on_demand=12, spot=4))
    plan = plan_fleet_resize(cluster, metrics(nodes=7), scaling_policy, state(low_utilization_since=ago(700)), NOW)
    # THEN On-Demand comes down to half the new total before Spot loses a unit
    command = _only_command(plan)
    goal = round(command.to_count * 0.5)
    assert command.to_on_demand == max(goal, 12 - (command.from_count - command.to_count))
    assert command.to_spot == 4 - max(0, (command.from_count - command.to_count) - (12 - goal))


@pytest.mark.parametrize("share", [-1, 100.5])
def test_on_demand_share_outside_0_to_100_is_refused(share: float) -> None:
    # GIVEN a share outside [0, 100], THEN the profile is refused naming the field
    with pytest.raises(ValueError, match="on_demand_share_pct"):
        policy(fleets={"task": {"on_demand_share_pct": share}})


def test_step_budget_counts_nodes_on_a_fleet() -> None:
    # GIVEN a budget of 2 nodes per scale-out (no percentage), a fleet of m5.xlarge (4 units) and m5.2xlarge (8),
    # and demand for 40 units
    scaling_policy = policy(scale_out={"max_step_nodes": 2, "max_step_pct": 0})
    yarn = metrics(pending_mb=40 * UNIT_MB, **BUSY)
    # WHEN the planner grows the fleet
    command = _only_command(plan_fleet_resize(fleet_snapshot(), yarn, scaling_policy, state(), NOW))
    # THEN it adds 2 nodes of the lightest type's units (8), so at most 2 nodes whatever EMR launches
    assert command.to_count - command.from_count == 8
    assert "step budget reached" in plan_fleet_resize(fleet_snapshot(), yarn, scaling_policy, state(), NOW).explanation


def test_scale_in_budget_counts_nodes_on_a_fleet() -> None:
    # GIVEN a budget of 1 node per scale-in and a lightly used fleet of 32 Spot units (not idle)
    scaling_policy = policy(scale_in={"max_step_nodes": 1})
    cluster = fleet_snapshot(fleet(spot=32))
    yarn = metrics(nodes=10, allocated_mb=4096, allocated_vcores=1, apps_running=1)
    plan = plan_fleet_resize(cluster, yarn, scaling_policy, state(low_utilization_since=ago(700)), NOW)
    # THEN one step removes one node's worth of the lightest type: 4 units
    assert plan.reason is ReasonCode.SCALE_IN_LOW_UTILIZATION, plan.explanation
    assert _only_command(plan).from_count - _only_command(plan).to_count == 4


def test_fleet_never_grows_beyond_max_units() -> None:
    # GIVEN a TASK fleet limited to 12 units and a large backlog
    yarn = metrics(pending_mb=200 * UNIT_MB, **BUSY)
    plan = plan_fleet_resize(fleet_snapshot(), yarn, policy(fleets={"task": {"max_units": 12}}), state(), NOW)
    # THEN it grows to 12, no further
    assert _only_command(plan).to_count == 12


def test_scale_in_takes_spot_first() -> None:
    # GIVEN an idle cluster whose TASK fleet has 8 On-Demand and 16 Spot units
    cluster = fleet_snapshot(fleet(on_demand=8, spot=16))
    # WHEN the planner shrinks it (idle: toward min_units)
    plan = plan_fleet_resize(cluster, metrics(nodes=7), policy(), state(low_utilization_since=ago(700)), NOW)
    # THEN Spot units go before On-Demand ones
    assert plan.reason.acts, plan.explanation
    command = _only_command(plan)
    removed = command.from_count - command.to_count
    assert command.to_spot == max(0, 16 - removed)
    assert command.to_on_demand == 8 - max(0, removed - 16)


def test_scale_in_gives_back_fallback_on_demand_before_spot() -> None:
    # GIVEN a fleet carrying 4 On-Demand units bought for missing Spot
    cluster = fleet_snapshot(fleet(on_demand=4, spot=16))
    memory = state(
        low_utilization_since=ago(700),
        fleets=(FleetMemory(fleet_id="if-TASK1", fallback_units=4, fallback_at=NOW - timedelta(minutes=1)),),
    )
    # WHEN it shrinks
    plan = plan_fleet_resize(cluster, metrics(nodes=7), policy(), memory, NOW)
    # THEN those On-Demand units go first, and are forgotten as fallback
    command = _only_command(plan)
    assert command.to_on_demand == 0
    assert plan.next_state.fleet("if-TASK1").fallback_units == 0


def test_unknown_instance_type_holds_with_capacity_unknown() -> None:
    # GIVEN a fleet that may launch a type with no known YARN capacity
    odd = fleet(types=(FleetInstanceType(instance_type="x9.mystery", weighted_capacity=4),))
    # WHEN the planner decides
    plan = plan_fleet_resize(fleet_snapshot(odd), metrics(pending_mb=UNIT_MB), policy(), state(), NOW)
    # THEN it holds naming the type; configuring its capacity lifts the hold
    assert plan.reason is ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN
    assert "x9.mystery" in plan.explanation
    configured = policy(node_capacity={"x9.mystery": {"memory_mb": 8192, "vcores": 4}})
    assert plan_fleet_resize(fleet_snapshot(odd), metrics(), configured, state(), NOW).reason is not (
        ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN
    )


def test_unknown_types_on_fleets_the_scaler_never_resizes_hold_nothing() -> None:
    # GIVEN a fleet cluster whose MASTER and (left alone) CORE fleets may launch a type of unknown YARN capacity
    odd = (FleetInstanceType(instance_type="x9.mystery", weighted_capacity=1),)
    cluster = fleet_snapshot()
    others = tuple(
        f.model_copy(update={"instance_types": odd}) if f.role is not GroupRole.TASK else f for f in cluster.fleets
    )
    cluster = cluster.model_copy(update={"fleets": others})
    # WHEN demand is pending
    plan = plan_fleet_resize(cluster, metrics(pending_mb=12 * UNIT_MB, **BUSY), policy(), state(), NOW)
    # THEN the TASK fleet grows as usual: only the fleets it may resize need a known capacity
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND, plan.explanation
    assert _only_command(plan).group_id == "if-TASK1"
    # while a CORE fleet the profile does resize still holds on its unknown type
    scaled_core = policy(fleets={"core": {"scalable": True, "min_units": 8, "max_units": 20}})
    held = plan_fleet_resize(cluster, metrics(pending_mb=12 * UNIT_MB, **BUSY), scaled_core, state(), NOW)
    assert held.reason is ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN


def test_fleet_cluster_without_scalable_fleet_holds() -> None:
    # GIVEN a profile that leaves the TASK fleet alone (and CORE, as by default)
    plan = plan_fleet_resize(fleet_snapshot(), metrics(), policy(fleets={"task": {"scalable": False}}), state(), NOW)
    # THEN the cluster holds with its reason
    assert plan.reason is ReasonCode.HOLD_NO_SCALABLE_GROUP
    assert "no TASK group or fleet whose scaling is on" in plan.explanation


def test_master_fleet_is_never_resized() -> None:
    # GIVEN demand on a fleet cluster
    yarn = metrics(pending_mb=40 * UNIT_MB, **BUSY)
    plan = plan_fleet_resize(fleet_snapshot(), yarn, policy(), state(), NOW)
    # THEN no command touches the master fleet
    assert all(c.role is not GroupRole.MASTER for c in plan.commands)


@pytest.mark.parametrize(("minutes", "acts"), [(14, False), (15, True)])
def test_spot_counts_as_short_only_after_the_timeout(minutes: int, acts: bool) -> None:
    # GIVEN a fleet whose Spot target has been unfilled for `minutes`
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(minutes * 60)),))
    # WHEN the planner decides
    plan = plan_fleet_resize(cluster, metrics(), policy(), memory, NOW)
    # THEN it falls back only once the 15-min timeout has passed
    assert (plan.reason is ReasonCode.SCALE_SPOT_FALLBACK) is acts, plan.explanation


def test_first_sight_of_missing_spot_starts_the_clock() -> None:
    # GIVEN a fleet whose Spot is missing, never seen before
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    plan = plan_fleet_resize(cluster, metrics(), policy(), state(), NOW)
    # THEN the shortage is remembered from now, and nothing falls back yet
    assert plan.next_state.fleet("if-TASK1").spot_short_since == NOW
    assert plan.reason is not ReasonCode.SCALE_SPOT_FALLBACK


def test_fallback_is_capped_and_keeps_asking_spot_for_the_rest() -> None:
    # GIVEN 16 Spot units missing and room for only 6 more On-Demand units under the cap
    cluster = fleet_snapshot(fleet(on_demand=14, spot=24, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(1000)),))
    # WHEN the planner falls back
    plan = plan_fleet_resize(cluster, metrics(nodes=9), policy(), memory, NOW)
    # THEN On-Demand rises to the cap, Spot stays asked for the 10 units On-Demand cannot carry, and the
    # total target is unchanged
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK
    assert (command.to_on_demand, command.to_spot) == (20, 18)
    assert command.to_count == command.from_count
    remembered = plan.next_state.fleet("if-TASK1")
    assert remembered.fallback_units == 6
    assert remembered.spot_short_since == NOW  # still short for the rest: the clock starts over


def test_fallback_then_retry_then_give_back() -> None:
    # GIVEN a TASK fleet asking 24 Spot units of which 8 came, for 16 minutes
    scaling_policy = policy()
    memory: ScalingState = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(960)),))
    task = fleet(spot=24, provisioned_spot=8)

    def decide(fleet_now: InstanceFleetCapacity, memory: ScalingState, minutes: float) -> tuple[object, ScalingState]:
        at = NOW + timedelta(minutes=minutes)
        nodes = 2 + fleet_now.provisioned_units // 4
        busy = metrics(nodes=nodes, allocated_mb=nodes * 12288 * 3 // 4, allocated_vcores=nodes * 3)
        yarn = busy.model_copy(update={"observed_at": at})
        plan = plan_fleet_resize(fleet_snapshot(fleet_now), yarn, scaling_policy, memory, at)
        return plan, plan.next_state

    # WHEN the scaler falls back
    plan, memory = decide(task, memory, 0)
    command = _only_command(plan)
    assert (command.to_on_demand, command.to_spot) == (16, 8)
    # AND On-Demand delivers; nothing more happens before the retry is due
    task = fleet(on_demand=16, spot=8)
    plan, memory = decide(task, memory, 10)
    assert not plan.acts, plan.explanation  # type: ignore[attr-defined]
    # AND 30 minutes after the fallback Spot is asked again, on top (On-Demand stays)
    plan, memory = decide(task, memory, 31)
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_GIVE_BACK  # type: ignore[attr-defined]
    assert (command.to_on_demand, command.to_spot) == (16, 24)
    # AND once Spot has delivered, the On-Demand units go
    task = fleet(on_demand=16, spot=24)
    plan, memory = decide(task, memory, 40)
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_GIVE_BACK  # type: ignore[attr-defined]
    assert (command.to_on_demand, command.to_spot) == (0, 24)
    # THEN nothing is remembered as fallback any more
    assert memory.fleet("if-TASK1").fallback_units == 0


def test_a_retry_spot_cannot_fill_is_withdrawn_keeping_on_demand() -> None:
    # GIVEN a retry of 16 Spot units that has stayed unfilled for the timeout
    task = fleet(on_demand=16, spot=24, provisioned_spot=8)
    memory = state(
        fleets=(
            FleetMemory(
                fleet_id="if-TASK1", spot_short_since=ago(960), fallback_units=16, fallback_at=ago(960), retry_units=16
            ),
        )
    )
    # WHEN the planner decides
    plan = plan_fleet_resize(fleet_snapshot(task), metrics(nodes=8), policy(), memory, NOW)
    # THEN Spot stops being asked for the retry and the On-Demand units stay (no second fallback on top)
    command = _only_command(plan)
    assert (command.to_on_demand, command.to_spot) == (16, 8)
    assert plan.next_state.fleet("if-TASK1").fallback_units == 16


def test_retry_at_max_units_swaps_instead_of_exceeding_the_limit() -> None:
    # GIVEN a fleet at its max_units whose On-Demand carries 8 fallback units
    task = fleet(on_demand=8, spot=4)
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", fallback_units=8, fallback_at=ago(1900)),))
    plan = plan_fleet_resize(
        fleet_snapshot(task), metrics(nodes=5, **BUSY), policy(fleets={"task": {"max_units": 12}}), memory, NOW
    )
    # THEN the retry swaps the units rather than leaving [min_units, max_units]
    command = _only_command(plan)
    assert command.to_count == 12
    assert (command.to_on_demand, command.to_spot) == (0, 12)


def test_fallback_off_holds_with_spot_in_flight() -> None:
    # GIVEN a profile with the fallback switched off and Spot missing for an hour
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(3600)),))
    plan = plan_fleet_resize(cluster, metrics(), policy(fleets={"spot": {"fallback": False}}), memory, NOW)
    # THEN nothing is asked of On-Demand
    assert all(isinstance(c, ResizeInstanceFleet) and c.to_on_demand == 0 for c in plan.commands)
    assert plan.reason is not ReasonCode.SCALE_SPOT_FALLBACK
    assert plan.cluster_id == CLUSTER_ID


def test_at_the_cap_a_spot_request_emr_gave_up_is_withdrawn() -> None:
    # GIVEN On-Demand at its cap and a Spot request EMR stopped working on (the fleet RUNNING, 16 units short)
    cluster = fleet_snapshot(fleet(on_demand=20, spot=24, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(1000)),))
    # WHEN the planner decides
    plan = plan_fleet_resize(cluster, metrics(nodes=9, **BUSY), policy(), memory, NOW)
    # THEN the Spot target comes down to what runs (a later scale-out asks afresh); On-Demand stays at the cap
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK
    assert (command.to_on_demand, command.to_spot) == (20, 8)
    assert plan.next_state.fleet("if-TASK1").spot_short_since is None


def test_growth_while_spot_is_merely_in_flight_stays_on_spot() -> None:
    # GIVEN Spot units starting (not yet past the timeout) and more demand
    cluster = fleet_snapshot(fleet(spot=18, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(120)),))
    yarn = metrics(pending_mb=200 * UNIT_MB, **BUSY)
    # WHEN the planner grows the fleet
    plan = plan_fleet_resize(cluster, yarn, policy(), memory, NOW)
    # THEN the growth goes to Spot: in flight is not short
    for command in plan.commands:
        assert isinstance(command, ResizeInstanceFleet)
        assert command.to_on_demand == 0


def test_spot_that_keeps_arriving_is_growing_not_short() -> None:
    # GIVEN Spot missing for 20 minutes, but a unit arrived since the last evaluation (12 then, 16 now)
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=16))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(1200), last_provisioned_spot=12),))
    # WHEN the planner decides
    plan = plan_fleet_resize(cluster, metrics(nodes=6, **BUSY), policy(), memory, NOW)
    # THEN no fallback: the clock starts again from this arrival
    assert plan.reason is not ReasonCode.SCALE_SPOT_FALLBACK
    assert plan.next_state.fleet("if-TASK1").spot_short_since == NOW
    assert plan.next_state.fleet("if-TASK1").last_provisioned_spot == 16


def test_a_withdrawn_spot_request_keeps_the_fleet_at_its_min_units() -> None:
    # GIVEN a TASK fleet of min_units 8 with no On-Demand allowed, asking 8 Spot units none of which came, and EMR
    # given up on them (the fleet RUNNING) for 16 minutes
    cluster = fleet_snapshot(fleet(spot=8, provisioned_spot=0))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(960), last_provisioned_spot=0),))
    scaling_policy = policy(fleets={"task": {"min_units": 8, "max_on_demand_units": 0}})
    # WHEN the planner decides
    plan = plan_fleet_resize(cluster, metrics(nodes=4, **BUSY), scaling_policy, memory, NOW)
    # THEN the request is not withdrawn below min_units: the fleet holds, saying why
    assert plan.reason is ReasonCode.HOLD_SPOT_SHORT, plan.explanation
    assert not plan.commands
    assert "minimum (8 units)" in plan.explanation


def test_a_withdrawal_stops_at_min_units() -> None:
    # GIVEN On-Demand at its cap of 4 units, a fleet of min_units 12 asking 16 Spot units of which 4 came
    cluster = fleet_snapshot(fleet(on_demand=4, spot=16, provisioned_spot=4))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(960), last_provisioned_spot=4),))
    scaling_policy = policy(fleets={"task": {"min_units": 12, "max_on_demand_units": 4}})
    # WHEN the planner withdraws the Spot request EMR gave up on
    plan = plan_fleet_resize(cluster, metrics(nodes=4, **BUSY), scaling_policy, memory, NOW)
    # THEN Spot comes down only as far as min_units allows (4 On-Demand + 8 Spot), not to the 4 that run
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK, plan.explanation
    assert (command.to_on_demand, command.to_spot) == (4, 8)
    assert command.to_count == 12


def test_a_fallback_asks_on_demand_for_no_more_than_the_step_budget() -> None:
    # GIVEN a step budget of one node (4 units of the fleet's lightest type) and 16 Spot units missing for 16 min
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(960)),))
    scaling_policy = policy(scale_out={"max_step_nodes": 1, "max_step_pct": 10})
    plan = plan_fleet_resize(cluster, metrics(nodes=4, **BUSY), scaling_policy, memory, NOW)
    # THEN On-Demand is asked for 4 units, Spot stays asked for the other 12, and the shortage clock keeps running
    command = _only_command(plan)
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK, plan.explanation
    assert (command.to_on_demand, command.to_spot) == (4, 20)
    assert plan.next_state.fleet("if-TASK1").spot_short_since == ago(960)
