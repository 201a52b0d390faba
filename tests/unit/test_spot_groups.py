"""plan_group_resize: the Spot fallback on instance-group clusters, from a Spot TASK group to an On-Demand one."""

from __future__ import annotations

from datetime import timedelta

from emr_autoscaler.kernel.models import GroupState
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode
from emr_autoscaler.scaling.domain.plan import plan_resize
from emr_autoscaler.scaling.domain.spot_groups import plan_group_resize
from tests.unit.domain_builders import NOW, ago, core, metrics, policy, snapshot, state, task


def _busy(nodes: int) -> object:
    """Three quarters of `nodes` nodes allocated: no scale-in, no demand pending."""
    return metrics(nodes=nodes, allocated_mb=nodes * 12288 * 3 // 4, allocated_vcores=nodes * 3)


def _cluster(spot_running: int = 2, spot_requested: int = 6, on_demand: int = 1) -> object:
    return snapshot(
        core(2),
        task(on_demand, group_id="ig-OD", name="task-od"),
        task(spot_running, group_id="ig-SPOT", name="task-spot", requested=spot_requested).model_copy(
            update={"market": "SPOT", "state": GroupState.RESIZING}
        ),
    )


def _short(minutes: float, **fields: object) -> object:
    return state(fleets=(FleetMemory(fleet_id="ig-SPOT", spot_short_since=ago(minutes * 60), **fields),))  # type: ignore[arg-type]


def test_a_short_spot_group_falls_back_on_the_on_demand_group() -> None:
    # GIVEN a Spot TASK group asking 6 nodes with 2 running for 16 minutes, and an On-Demand TASK group of 1
    plan = plan_group_resize(_cluster(), _busy(5), policy(), _short(16), NOW)  # type: ignore[arg-type]
    # THEN the 4 missing nodes are asked of the On-Demand group and the Spot group stops asking for them
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK, plan.explanation
    assert sorted((c.group_id, c.to_count) for c in plan.commands) == [("ig-OD", 5), ("ig-SPOT", 2)]
    assert plan.next_state.fleet("ig-SPOT").fallback_units == 4
    assert "node(s)" in plan.explanation


def test_the_on_demand_group_stays_within_its_max_nodes() -> None:
    # GIVEN TASK groups limited to 4 nodes each, a Spot group asking 4 with none running, On-Demand at 1
    scaling_policy = policy(groups={"task": {"min_nodes": 0, "max_nodes": 4}})
    cluster = _cluster(spot_running=0, spot_requested=4, on_demand=1)
    plan = plan_group_resize(cluster, _busy(3), scaling_policy, _short(16), NOW)  # type: ignore[arg-type]
    # THEN On-Demand rises to its max (4) only, and Spot stays asked for the node On-Demand cannot carry
    assert sorted((c.group_id, c.to_count) for c in plan.commands) == [("ig-OD", 4), ("ig-SPOT", 1)]


def test_spot_given_back_after_a_retry_delivers() -> None:
    # GIVEN a fallback of 4 On-Demand nodes 31 minutes ago, Spot settled
    cluster = snapshot(
        core(2),
        task(5, group_id="ig-OD", name="task-od"),
        task(2, group_id="ig-SPOT", name="task-spot").model_copy(update={"market": "SPOT"}),
    )
    memory = state(fleets=(FleetMemory(fleet_id="ig-SPOT", fallback_units=4, fallback_at=ago(1860)),))
    retry = plan_group_resize(cluster, _busy(9), policy(), memory, NOW)
    # THEN Spot is asked again on top
    assert retry.reason is ReasonCode.SCALE_SPOT_GIVE_BACK, retry.explanation
    assert [(c.group_id, c.to_count) for c in retry.commands] == [("ig-SPOT", 6)]
    # WHEN Spot has delivered, THEN the On-Demand nodes go, gracefully
    delivered = snapshot(
        core(2),
        task(5, group_id="ig-OD", name="task-od"),
        task(6, group_id="ig-SPOT", name="task-spot").model_copy(update={"market": "SPOT"}),
    )
    give = plan_group_resize(delivered, _busy(13), policy(), retry.next_state, NOW)
    assert give.reason is ReasonCode.SCALE_SPOT_GIVE_BACK, give.explanation
    (command,) = give.commands
    assert (command.group_id, command.to_count) == ("ig-OD", 1)
    assert command.decommission_timeout_s == policy().scale_in.decommission_timeout_s
    # AND each step is told as its own Spot episode, in nodes
    assert retry.spot is not None
    assert give.spot is not None
    assert retry.spot.summary == (
        "Spot group 'task-spot' (ig-SPOT): Spot asked again for 4 node(s) On-Demand carried for 31 min "
        "(On-Demand 5 → 5, Spot 2 → 6)"
    )
    assert give.spot.summary.startswith("Spot group 'task-spot' (ig-SPOT): Spot is back, 4 On-Demand node(s) given")


def test_a_fallback_is_told_with_what_was_short_and_for_how_long() -> None:
    # GIVEN a Spot TASK group 4 nodes short for 16 minutes
    plan = plan_group_resize(_cluster(), _busy(5), policy(), _short(16), NOW)  # type: ignore[arg-type]
    # THEN its episode says so, and remembers when On-Demand started carrying them
    assert plan.spot is not None
    assert (plan.spot.action, plan.spot.short, plan.spot.short_for_s, plan.spot.unit) == ("fallback", 4, 960, "node")
    assert plan.next_state.fleet("ig-SPOT").fallback_since == NOW


def test_a_cluster_without_both_kinds_of_task_group_is_plan_resize_alone() -> None:
    # GIVEN a Spot TASK group short for an hour but no On-Demand TASK group, and a plain On-Demand cluster
    spot_only = snapshot(
        core(2),
        task(2, group_id="ig-SPOT", requested=6).model_copy(update={"market": "SPOT", "state": GroupState.RESIZING}),
    )
    for cluster in (spot_only, snapshot()):
        yarn = _busy(4)
        # WHEN decided, THEN exactly as plan_resize decides
        assert plan_group_resize(cluster, yarn, policy(), _short(60), NOW) == plan_resize(  # type: ignore[arg-type]
            cluster,
            yarn,
            policy(),
            _short(60),
            NOW,  # type: ignore[arg-type]
        )


def test_a_fallback_leaves_the_spot_group_at_its_min_nodes() -> None:
    # GIVEN TASK groups of min_nodes 2, a Spot group asking 4 with none running for 16 minutes, On-Demand at 2
    scaling_policy = policy(groups={"task": {"min_nodes": 2, "max_nodes": 20}})
    cluster = _cluster(spot_running=0, spot_requested=4, on_demand=2)
    plan = plan_group_resize(cluster, _busy(4), scaling_policy, _short(16), NOW)  # type: ignore[arg-type]
    # THEN the Spot group stays asked for its 2 minimum nodes, and On-Demand is asked only for the other 2
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK, plan.explanation
    assert sorted((c.group_id, c.to_count) for c in plan.commands) == [("ig-OD", 4), ("ig-SPOT", 2)]
    assert plan.next_state.fleet("ig-SPOT").fallback_units == 2
    # AND once those 2 stay short too, nothing more is asked of On-Demand: the cluster holds at the minimum
    short_again = _cluster(spot_running=0, spot_requested=2, on_demand=4)
    memory = plan.next_state.model_copy(
        update={"fleets": (plan.next_state.fleet("ig-SPOT").model_copy(update={"spot_short_since": ago(960)}),)}
    )
    held = plan_group_resize(short_again, _busy(6), scaling_policy, memory, NOW)  # type: ignore[arg-type]
    assert held.reason is ReasonCode.HOLD_SPOT_SHORT, held.explanation
    assert "minimum (2 nodes)" in held.explanation


def test_a_give_back_leaves_the_on_demand_group_at_its_min_nodes() -> None:
    # GIVEN TASK groups of min_nodes 2, On-Demand at 2 still remembered as carrying 4 fallback nodes, and the retry
    # of 4 Spot nodes delivered
    scaling_policy = policy(groups={"task": {"min_nodes": 2, "max_nodes": 20}})
    cluster = snapshot(
        core(2),
        task(2, group_id="ig-OD", name="task-od"),
        task(6, group_id="ig-SPOT", name="task-spot").model_copy(update={"market": "SPOT"}),
    )
    memory = state(fleets=(FleetMemory(fleet_id="ig-SPOT", fallback_units=4, fallback_at=ago(600), retry_units=4),))
    plan = plan_group_resize(cluster, _busy(8), scaling_policy, memory, NOW)
    # THEN the On-Demand group is not taken below its minimum, and the retry is forgotten
    assert all(c.to_count >= 2 for c in plan.commands), plan.explanation
    assert plan.next_state.fleet("ig-SPOT").retry_units == 0


def test_a_fallback_asks_the_on_demand_group_for_no_more_than_its_step_budget() -> None:
    # GIVEN a step budget of 10 nodes, a Spot group asking 30 nodes none of which came for 16 minutes, On-Demand at 0
    scaling_policy = policy(groups={"task": {"max_nodes": 40}}, scale_out={"max_step_nodes": 10, "max_step_pct": 10})
    cluster = _cluster(spot_running=0, spot_requested=30, on_demand=0)
    plan = plan_group_resize(cluster, _busy(2), scaling_policy, _short(16), NOW)  # type: ignore[arg-type]
    # THEN one action asks On-Demand for 10 nodes only, and Spot stays asked for the other 20
    assert plan.reason is ReasonCode.SCALE_SPOT_FALLBACK, plan.explanation
    assert sorted((c.group_id, c.to_count) for c in plan.commands) == [("ig-OD", 10), ("ig-SPOT", 20)]
    assert "step budget 10" in plan.explanation
    # AND the next evaluation, once On-Demand has its 10, asks it for 10 more without waiting out the timeout again
    later = NOW + timedelta(minutes=2)
    settled = _cluster(spot_running=0, spot_requested=20, on_demand=10)
    yarn = _busy(12).model_copy(update={"observed_at": later})  # type: ignore[attr-defined]
    again = plan_group_resize(settled, yarn, scaling_policy, plan.next_state, later)  # type: ignore[arg-type]
    assert again.reason is ReasonCode.SCALE_SPOT_FALLBACK, again.explanation
    assert sorted((c.group_id, c.to_count) for c in again.commands) == [("ig-OD", 20), ("ig-SPOT", 10)]
    assert again.next_state.fleet("ig-SPOT").fallback_units == 20


def test_without_steering_spot_a_group_cluster_is_plan_resize_alone() -> None:
    # GIVEN a Spot TASK group short for 16 minutes on a cluster whose managed scaling, tuned, picks the markets
    cluster = _cluster()
    yarn = _busy(5)
    plan = plan_group_resize(cluster, yarn, policy(), _short(16), NOW, steer_spot=False)  # type: ignore[arg-type]
    # THEN no fallback is decided and the Spot memory stays as it was
    assert plan == plan_resize(cluster, yarn, policy(), _short(16), NOW)  # type: ignore[arg-type]
    assert plan.next_state.fleet("ig-SPOT").fallback_units == 0
