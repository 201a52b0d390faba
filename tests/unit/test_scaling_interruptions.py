"""plan_interruption and the restore after it: a Spot instance EC2 is about to reclaim is replaced in advance where
the cluster needs it, on the market that has capacity, once; the target comes back once the instance is gone."""

from __future__ import annotations

from datetime import timedelta

from emr_autoscaler.kernel.models import InstanceLocation
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode, Replacement, ResizeInstanceFleet
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.interruptions import count_losses, plan_interruption
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


def test_a_held_interruption_is_counted_once_whatever_comes_after() -> None:
    # GIVEN an idle cluster whose interruption was held (not replaced), and counted
    cluster = fleet_snapshot(fleet(spot=16))
    idle = metrics(nodes=6)
    held = plan_interruption(cluster, idle, policy(), state(), _reclaimed(), NOW)
    assert held.reason is ReasonCode.HOLD_INTERRUPTION_NOT_REPLACED
    # WHEN a copy of the warning arrives, then EMR's node-loss notification for the same instance
    again = plan_interruption(cluster, idle, policy(), held.next_state, _reclaimed(), NOW)
    lost = count_losses(again.next_state, (_reclaimed(),), NOW + timedelta(minutes=5))
    # THEN the instance is counted once, not three times (which would reach reclaimed_limit from one reclaim)
    assert [(c.instance_type, c.count) for c in lost.interruptions] == [("m5.xlarge", 1)]
    assert "already counted" in again.explanation
    # AND nothing is taken off a target for it later
    later = plan_fleet_resize(
        cluster,
        idle.model_copy(update={"observed_at": NOW + timedelta(minutes=5)}),
        policy(),
        lost,
        NOW + timedelta(minutes=5),
    )
    assert later.reason is not ReasonCode.SCALE_REPLACE_INTERRUPTED, later.explanation


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


def _reclaimed_times(instance_type: str, minutes_ago: tuple[float, ...]) -> object:
    from emr_autoscaler.scaling.domain.decisions import InterruptionCount

    return InterruptionCount(
        instance_type=instance_type,
        count=len(minutes_ago),
        recent=tuple(ago(m * 60) for m in sorted(minutes_ago)[::-1]),
    )


def test_a_fleet_whose_spot_is_reclaimed_often_grows_on_demand_first() -> None:
    # GIVEN a fleet cluster whose m5.xlarge Spot was reclaimed 3 times in the last hour, and demand pending
    from tests.unit.domain_builders import UNIT_MB

    memory = state(interruptions=(_reclaimed_times("m5.xlarge", (5, 20, 50)),))
    yarn = metrics(pending_mb=12 * UNIT_MB, allocated_mb=4 * 12288 - 1024, allocated_vcores=12)
    plan = plan_fleet_resize(fleet_snapshot(), yarn, policy(), memory, NOW)
    # THEN the growth goes On-Demand (within the cap of 20), saying why
    (command,) = plan.commands
    assert isinstance(command, ResizeInstanceFleet)
    assert command.to_on_demand == min(20, command.to_count - 8)
    assert "reclaimed often lately (m5.xlarge 3 times in 60 min)" in plan.explanation
    # AND interruptions older than the window, or fewer than the limit, leave growth on Spot
    for old in ((5, 20, 70), (5, 20)):
        calm = plan_fleet_resize(
            fleet_snapshot(), yarn, policy(), state(interruptions=(_reclaimed_times("m5.xlarge", old),)), NOW
        )
        (grown,) = calm.commands
        assert isinstance(grown, ResizeInstanceFleet)
        assert grown.to_on_demand == 0


def test_the_replacement_goes_on_demand_once_the_type_is_reclaimed_often() -> None:
    # GIVEN two earlier m5.xlarge interruptions this hour, and a third warning
    cluster = fleet_snapshot(fleet(spot=16))
    memory = state(interruptions=(_reclaimed_times("m5.xlarge", (10, 30)),))
    plan = plan_interruption(cluster, BUSY, policy(), memory, _reclaimed(), NOW)
    # THEN its units are asked of On-Demand, and the count keeps the time of each
    (command,) = plan.commands
    assert isinstance(command, ResizeInstanceFleet)
    assert (command.to_on_demand, command.to_spot) == (4, 16)
    assert "as Spot was reclaimed m5.xlarge 3 times in 60 min" in plan.explanation
    (count,) = plan.next_state.interruptions
    assert (count.count, count.recent[-1]) == (3, NOW)


def test_a_group_cluster_counts_each_interruption_once_and_grows_the_group_reclaimed_less() -> None:
    # GIVEN two Spot TASK groups, r5.xlarge (task-a) and m5.xlarge (task-b), and an m5.xlarge warning seen twice
    from emr_autoscaler.scaling.domain.interruptions import plan_group_interruption
    from tests.unit.domain_builders import core, snapshot, task

    cluster = snapshot(
        core(2),
        task(2, group_id="ig-A", name="task-a", instance_type="r5.xlarge").model_copy(update={"market": "SPOT"}),
        task(2, group_id="ig-B", name="task-b", instance_type="m5.xlarge").model_copy(update={"market": "SPOT"}),
    )
    warning = InstanceLocation(
        cluster_id="j-TESTCLUSTER01", ec2_instance_id="i-0abc1234def567890", group_id="ig-B", instance_type="m5.xlarge"
    )
    first = plan_group_interruption(cluster, BUSY, policy(), state(), warning, NOW)
    again = plan_group_interruption(cluster, BUSY, policy(), first.next_state, warning, NOW)
    # THEN it is counted once for m5.xlarge
    assert [(c.instance_type, c.count) for c in again.next_state.interruptions] == [("m5.xlarge", 1)]
    # WHEN demand comes with task-a's r5.xlarge reclaimed 3 times and task-b's m5.xlarge once
    from emr_autoscaler.scaling.domain.plan import plan_resize

    reclaimed = state(interruptions=(_reclaimed_times("m5.xlarge", (9,)), _reclaimed_times("r5.xlarge", (1, 2, 3))))
    demand = metrics(nodes=6, pending_mb=12288, allocated_mb=6 * 12288 - 4096, allocated_vcores=20)
    plan = plan_resize(cluster, demand, policy(), reclaimed, NOW)
    # THEN the group whose type was reclaimed less (task-b) grows, though task-a comes first by name
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND, plan.explanation
    assert [c.group_id for c in plan.commands] == ["ig-B"]
