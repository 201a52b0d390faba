"""What the scaler learns between evaluations (backlog drain, start delay, recent peak), and the step budgets."""

from __future__ import annotations

import pytest

from emr_autoscaler.kernel.models import GroupState
from emr_autoscaler.scaling.domain.decisions import ReasonCode
from emr_autoscaler.scaling.domain.learn import expected_waiting_mb, learn
from emr_autoscaler.scaling.domain.plan import plan_resize
from tests.unit.domain_builders import NODE_MB, NOW, ago, core, metrics, policy, snapshot, state, task


def test_a_first_backlog_that_halves_moves_the_estimate_from_kept_whole() -> None:
    # GIVEN 8 GB pending a minute ago, and no history: a backlog is assumed to stay until shown otherwise
    before = state(last_pending_mb=8192, last_read_at=ago(60))

    # WHEN 4 GB are pending now
    after = learn(before, metrics(pending_mb=4096), 0, NOW, 360)

    # THEN the half kept moves the estimate 30% of the way from 1.0, and this read is the next one's baseline
    assert after.backlog_kept == pytest.approx(1.0 + 0.3 * (0.5 - 1.0))
    assert (after.last_pending_mb, after.last_read_at) == (4096, NOW)


def test_one_full_drain_does_not_stop_scale_out() -> None:
    # GIVEN a first backlog that cleared completely within a minute
    after = learn(state(last_pending_mb=8192, last_read_at=ago(60)), metrics(pending_mb=0), 0, NOW, 360)

    # THEN the estimate is 70% kept per minute, not 0: a new backlog still gets nodes
    assert after.backlog_kept == pytest.approx(0.7)


def test_reads_seconds_apart_are_not_a_minute_of_drain() -> None:
    # GIVEN a read 5 s ago with 8 GB pending (an alarm and the tick together)
    before = state(backlog_kept=0.9, last_pending_mb=8192, last_read_at=ago(5))

    # WHEN 7 GB are pending now
    after = learn(before, metrics(pending_mb=7168), 0, NOW, 360)

    # THEN nothing is learned, and the older read stays the baseline for the next one
    assert (after.backlog_kept, after.last_pending_mb, after.last_read_at) == (0.9, 8192, ago(5))


def test_a_backlog_cleared_while_our_nodes_arrive_earns_no_drain_credit() -> None:
    before = state(backlog_kept=0.9, last_pending_mb=8192, last_read_at=ago(60))
    assert learn(before, metrics(pending_mb=0), 3, NOW, 360).backlog_kept == 0.9


def test_an_episode_shorter_than_two_minutes_is_no_start_delay() -> None:
    # GIVEN an episode that "ended" a minute after it began (draining nodes taken back, or observe mode)
    after = learn(state(in_flight_since=ago(60)), metrics(), 0, NOW, 360)

    # THEN it teaches no start delay, and the episode is closed
    assert (after.start_delay_s, after.in_flight_since) == (None, None)


def test_the_kept_share_is_per_minute_and_smoothed() -> None:
    # GIVEN a history of backlogs that stayed whole, and 8 GB pending two minutes ago
    before = state(backlog_kept=1.0, last_pending_mb=8192, last_read_at=ago(120))

    # WHEN 2 GB remain (a quarter over two minutes: half per minute)
    after = learn(before, metrics(pending_mb=2048), 0, NOW, 360)

    # THEN the new half moves the memory 30% of the way from 1.0
    assert after.backlog_kept == pytest.approx(1.0 + 0.3 * (0.5 - 1.0))


def test_reads_too_far_apart_teach_nothing_about_the_drain() -> None:
    before = state(backlog_kept=0.9, last_pending_mb=8192, last_read_at=ago(3600))
    assert learn(before, metrics(pending_mb=0), 0, NOW, 360).backlog_kept == 0.9


def test_the_start_delay_is_learned_when_nothing_is_in_flight_any_more() -> None:
    # GIVEN nodes put in flight 7 minutes ago
    before = state(in_flight_since=ago(420))

    # WHEN a read finds none in flight, then later a second episode took 5 minutes
    first = learn(before, metrics(), 0, NOW, 360)
    second = learn(first.model_copy(update={"in_flight_since": ago(300)}), metrics(), 0, NOW, 360)

    # THEN the first episode sets it, the second moves it 30% of the way
    assert (first.start_delay_s, first.in_flight_since) == (420.0, None)
    assert second.start_delay_s == pytest.approx(420.0 + 0.3 * (300.0 - 420.0))


def test_nodes_still_in_flight_teach_no_start_delay() -> None:
    before = state(in_flight_since=ago(420))
    assert learn(before, metrics(), 2, NOW, 360).in_flight_since == ago(420)


def test_the_demand_peak_lasts_one_start_delay() -> None:
    # GIVEN a peak of 10 nodes of demand, 5 minutes ago, then 10 minutes ago
    recent = state(demand_peak_mb=10 * NODE_MB, demand_peak_at=ago(300))
    old = state(demand_peak_mb=10 * NODE_MB, demand_peak_at=ago(600))

    # WHEN 2 nodes of demand are read now (start delay 360 s)
    kept = learn(recent, metrics(allocated_mb=2 * NODE_MB), 0, NOW, 360)
    expired = learn(old, metrics(allocated_mb=2 * NODE_MB), 0, NOW, 360)

    # THEN the recent peak stays; the old one gives way to the load now
    assert (kept.demand_peak_mb, kept.demand_peak_at) == (10 * NODE_MB, ago(300))
    assert (expired.demand_peak_mb, expired.demand_peak_at) == (2 * NODE_MB, NOW)


@pytest.mark.parametrize(
    ("kept", "trust", "expected"),
    [
        pytest.param(None, 50.0, 6000.0, id="no history: every pending MB counts"),
        pytest.param(0.5, 0.0, 6000.0, id="trust 0: the history is ignored"),
        pytest.param(0.5, 100.0, 6000.0 * 0.5**6, id="trust 100: halves each minute of the 6-minute start"),
        pytest.param(0.5, 50.0, 6000.0 * 0.5**3, id="trust 50: half the minutes"),
    ],
)
def test_expected_waiting(kept: float | None, trust: float, expected: float) -> None:
    assert expected_waiting_mb(state(backlog_kept=kept), 6000, 360.0, trust) == pytest.approx(expected)


def test_scale_out_budget_is_the_larger_of_nodes_and_percent() -> None:
    # GIVEN a 40-node TASK group, demand for 100 more nodes, budgets of 10 nodes or 50%
    cluster = snapshot(core(2), task(40))
    yarn = metrics(nodes=42, allocated_mb=20 * NODE_MB, pending_mb=100 * NODE_MB)
    config = policy(scale_out={"max_step_nodes": 10, "max_step_pct": 50}, groups={"task": {"max_nodes": 500}})

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, config, state(), NOW)

    # THEN the group grows by 50% of 40 (20 > 10), and the sentence says the budget was reached
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert [(c.from_count, c.to_count) for c in plan.commands] == [(40, 60)]
    assert "step budget reached" in plan.explanation


def test_scale_in_budget_is_the_smaller_of_nodes_and_percent() -> None:
    # GIVEN 6 idle-ish TASK nodes after the window, budgets of 5 nodes or 20%
    cluster = snapshot(core(2), task(6))
    yarn = metrics(nodes=8, allocated_mb=NODE_MB)
    config = policy(scale_in={"max_step_nodes": 5, "max_step_pct": 20})

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, config, state(low_utilization_since=ago(700)), NOW)

    # THEN one node goes (20% of 6 rounds down to 1; never 0)
    assert plan.reason is ReasonCode.SCALE_IN_LOW_UTILIZATION
    assert [(c.from_count, c.to_count) for c in plan.commands] == [(6, 5)]


def test_explain_shows_capacity_in_flight_and_the_drain_estimate() -> None:
    # GIVEN 3 TASK nodes starting and a backlog history
    cluster = snapshot(core(2), task(2, requested=5))
    memory = state(backlog_kept=0.5, last_pending_mb=NODE_MB, last_read_at=ago(60))

    # WHEN the planner decides on 6 nodes of pending memory
    plan = plan_resize(cluster, metrics(pending_mb=6 * NODE_MB), policy(), memory, NOW)

    # THEN its checks name what is in flight and what is expected to drain
    checks = {c.name: c.detail for c in plan.checks}
    assert checks["capacity_in_flight"] == "task-ig-TASK1 3 starting, 0 draining"
    assert "expected still waiting after the 360 s start delay" in checks["drain_estimate"]


def test_a_steady_read_changes_nothing_so_a_steady_tick_writes_nothing() -> None:
    # GIVEN a cluster that learned its peak a minute ago and has had no backlog since
    memory = state(demand_peak_mb=2 * NODE_MB, demand_peak_at=ago(60), last_pending_mb=0, last_read_at=ago(600))

    # WHEN the same load is read again, with nothing pending
    after = learn(memory, metrics(allocated_mb=2 * NODE_MB), 0, NOW, 360)

    # THEN the state is the same object: nothing to write
    assert after is memory


def test_scale_in_does_not_count_nodes_already_draining_as_staying() -> None:
    # GIVEN CORE 2, TASK a shrinking 10 -> 5 (5 still draining), TASK b 10 settled, idle, and a recent peak of
    # 8 nodes of demand (10 nodes at 80%)
    cluster = snapshot(core(2), task(10, "ig-A", name="a", requested=5), task(10, "ig-B", name="b"))
    memory = state(low_utilization_since=ago(700), demand_peak_mb=8 * NODE_MB, demand_peak_at=ago(60))

    # WHEN the planner decides on an idle cluster
    plan = plan_resize(cluster, metrics(nodes=22), policy(), memory, NOW)

    # THEN b keeps what the peak needs once a's draining nodes are gone: 2 CORE + 5 of a + 3 of b = 10 nodes
    assert plan.reason is ReasonCode.SCALE_IN_IDLE
    assert [(c.group_id, c.to_count) for c in plan.commands] == [("ig-B", 3)]


def test_a_group_still_resizing_is_not_shrunk_to_a_lowered_max() -> None:
    # GIVEN a TASK group resizing 5 -> 12 when ops lower its max to 8
    cluster = snapshot(core(2), task(5, requested=12, state=GroupState.RESIZING))
    config = policy(groups={"task": {"max_nodes": 8}})

    # WHEN the planner decides with nothing pending
    plan = plan_resize(cluster, metrics(nodes=7), config, state(), NOW)

    # THEN it does not shrink the resizing group (it will once the group settles)
    assert plan.reason is not ReasonCode.SCALE_TO_LIMITS
    assert plan.commands == ()


def test_vcore_demand_covered_by_nodes_in_flight_holds_as_in_flight() -> None:
    # GIVEN three nodes starting and pending vcores only (no pending memory reported)
    cluster = snapshot(core(2), task(2, requested=5, state=GroupState.RESIZING))
    yarn = metrics(pending_mb=0, pending_vcores=4, containers_pending=4)

    # WHEN the planner decides
    plan = plan_resize(cluster, yarn, policy(), state(), NOW)

    # THEN the nodes in flight cover it: an in-flight hold, not a "draining fast" one
    assert plan.reason is ReasonCode.HOLD_CAPACITY_IN_FLIGHT


def test_taking_back_draining_nodes_starts_no_start_delay_episode() -> None:
    # GIVEN a TASK group shrinking 10 -> 5 with five nodes still draining, and demand for three nodes
    cluster = snapshot(core(2), task(10, requested=5, state=GroupState.RESIZING))

    # WHEN the planner grows it
    plan = plan_resize(cluster, metrics(nodes=12, pending_mb=3 * NODE_MB), policy(), state(), NOW)

    # THEN the growth takes back draining nodes (to_count below running): no episode is timed
    assert plan.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert [(c.from_count, c.to_count) for c in plan.commands] == [(5, 8)]
    assert plan.next_state.in_flight_since is None


def test_a_plateau_counts_until_utilization_went_low() -> None:
    # GIVEN a peak first reached 30 minutes ago that lasted until utilization went low 5 minutes ago
    memory = state(demand_peak_mb=10 * NODE_MB, demand_peak_at=ago(1800), low_utilization_since=ago(300))

    # WHEN a low load is read (window 20 minutes)
    after = learn(memory, metrics(allocated_mb=NODE_MB), 0, NOW, 360, peak_memory_s=1200)

    # THEN the peak still stands: it ended 5 minutes ago, not 30
    assert (after.demand_peak_mb, after.demand_peak_at) == (10 * NODE_MB, ago(1800))


def test_a_load_steady_at_its_peak_for_an_hour_writes_nothing() -> None:
    memory = state(demand_peak_mb=4 * NODE_MB, demand_peak_at=ago(3600))
    assert learn(memory, metrics(allocated_mb=4 * NODE_MB), 0, NOW, 360, peak_memory_s=600) is memory
