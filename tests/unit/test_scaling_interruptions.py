"""plan_interruption and the restore after it: a Spot instance EC2 is about to reclaim is replaced in advance where
the cluster needs it, on the market that has capacity, once; the target comes back once the instance is gone."""

from __future__ import annotations

from datetime import timedelta

from emr_autoscaler.kernel.models import InstanceLocation
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode, Replacement, ResizeInstanceFleet
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.interruptions import plan_interruption
from tests.unit.domain_builders import NOW, ago, fleet, fleet_snapshot, metrics, policy, state

BUSY = metrics(nodes=6, allocated_mb=6 * 12288 - 4096, allocated_vcores=20)
REPLACEMENT = Replacement(
    ec2_instance_id="i-0abc1234def567890", fleet_id="if-TASK1", market="SPOT", units=4, gone_after=NOW
)


def _reclaimed(instance_type: str = "m5.xlarge") -> InstanceLocation:
    return InstanceLocation(
        cluster_id="j-TESTCLUSTER01",
        ec2_instance_id="i-0abc1234def567890",
        fleet_id="if-TASK1",
        market="SPOT",
        instance_type=instance_type,
    )


def test_a_busy_cluster_replaces_the_units_on_spot_at_once() -> None:
    # GIVEN a busy fleet cluster whose m5.xlarge Spot node (4 units) EC2 reclaims in two minutes
    cluster = fleet_snapshot(fleet(spot=16))
    # WHEN the warning is planned
    plan = plan_interruption(cluster, BUSY, policy(), state(), _reclaimed(), NOW)
    # THEN 4 Spot units are asked for now, the interruption is counted per type and remembered
    assert plan.reason is ReasonCode.SCALE_REPLACE_INTERRUPTED, plan.explanation
    (command,) = plan.commands
    assert isinstance(command, ResizeInstanceFleet)
    assert (command.to_on_demand, command.to_spot) == (0, 20)
    assert [(c.instance_type, c.count) for c in plan.next_state.interruptions] == [("m5.xlarge", 1)]
    assert plan.next_state.replacements[0].gone_after == NOW + timedelta(minutes=2)


def test_the_replacement_goes_on_demand_when_spot_is_short() -> None:
    # GIVEN a fleet already carrying On-Demand units for missing Spot, and an m5.2xlarge (8 units) reclaimed
    cluster = fleet_snapshot(fleet(on_demand=4, spot=16))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", fallback_units=4, fallback_at=ago(60)),))
    plan = plan_interruption(cluster, BUSY, policy(), memory, _reclaimed("m5.2xlarge"), NOW)
    # THEN its 8 units are asked of On-Demand (within the cap of 20)
    (command,) = plan.commands
    assert isinstance(command, ResizeInstanceFleet)
    assert (command.to_on_demand, command.to_spot) == (12, 16)


def test_the_same_warning_twice_is_replaced_once() -> None:
    # GIVEN the state after a first replacement
    cluster = fleet_snapshot(fleet(spot=16))
    first = plan_interruption(cluster, BUSY, policy(), state(), _reclaimed(), NOW)
    # WHEN the same warning is planned again
    again = plan_interruption(cluster, BUSY, policy(), first.next_state, _reclaimed(), NOW)
    # THEN nothing more is asked, and it is not counted twice
    assert again.reason is ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED
    assert not again.commands
    assert again.next_state.interruptions == first.next_state.interruptions


def test_an_idle_cluster_does_not_replace_but_counts() -> None:
    # GIVEN an idle cluster
    plan = plan_interruption(fleet_snapshot(fleet(spot=16)), metrics(nodes=6), policy(), state(), _reclaimed(), NOW)
    # THEN no replacement (EMR replenishes the fleet by itself), and the interruption is counted
    assert plan.reason is ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED
    assert "does not need it" in plan.explanation
    assert plan.next_state.interruptions[0].count == 1


def test_no_replacement_beyond_max_units() -> None:
    # GIVEN a fleet at its max_units
    scaling_policy = policy(fleets={"task": {"max_units": 16}})
    plan = plan_interruption(fleet_snapshot(fleet(spot=16)), BUSY, scaling_policy, state(), _reclaimed(), NOW)
    # THEN it holds rather than leave [min_units, max_units]
    assert plan.reason is ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED
    assert not plan.commands


def test_no_replacement_on_stale_metrics() -> None:
    # GIVEN metrics older than the source's limit
    stale = BUSY.model_copy(update={"observed_at": ago(600)})
    plan = plan_interruption(fleet_snapshot(fleet(spot=16)), stale, policy(), state(), _reclaimed(), NOW)
    # THEN the guards hold, as for any decision
    assert plan.reason is ReasonCode.HOLD_METRICS_STALE


def test_once_the_instance_is_gone_the_target_comes_back() -> None:
    # GIVEN a replacement of 4 Spot units whose instance went a minute ago (the fleet asks 20, has 16)
    cluster = fleet_snapshot(fleet(spot=20, provisioned_spot=16))
    memory = state(replacements=(REPLACEMENT.model_copy(update={"gone_after": ago(60)}),))
    # WHEN the fleet is evaluated
    plan = plan_fleet_resize(cluster, BUSY, policy(), memory, NOW)
    # THEN the 4 units come off the Spot target (EMR would otherwise replenish on top), once
    assert plan.reason is ReasonCode.SCALE_REPLACE_INTERRUPTED, plan.explanation
    (command,) = plan.commands
    assert isinstance(command, ResizeInstanceFleet)
    assert command.to_spot == 16
    assert plan.next_state.replacements[0].restored
    settled = fleet_snapshot(fleet(spot=16))
    assert plan_fleet_resize(settled, BUSY, policy(), plan.next_state, NOW).reason is not (
        ReasonCode.SCALE_REPLACE_INTERRUPTED
    )


def test_a_restored_replacement_is_forgotten_after_an_hour() -> None:
    # GIVEN a replacement restored long ago
    memory = state(replacements=(REPLACEMENT.model_copy(update={"gone_after": ago(4000), "restored": True}),))
    plan = plan_fleet_resize(fleet_snapshot(fleet(spot=16)), BUSY, policy(), memory, NOW)
    # THEN it is no longer remembered
    assert plan.next_state.replacements == ()
