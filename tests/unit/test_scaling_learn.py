"""What the scaler learns between evaluations (backlog drain, start delay, recent peak), and the step budgets."""

from __future__ import annotations

import pytest

from emr_autoscaler.scaling.domain.decisions import ReasonCode
from emr_autoscaler.scaling.domain.learn import expected_waiting_mb, learn
from emr_autoscaler.scaling.domain.plan import plan_resize
from tests.unit.domain_builders import NODE_MB, NOW, ago, core, metrics, policy, snapshot, state, task


def test_a_backlog_that_halves_in_a_minute_is_remembered_as_kept_by_half() -> None:
    # GIVEN 8 GB pending a minute ago
    before = state(last_pending_mb=8192, last_read_at=ago(60))

    # WHEN 4 GB are pending now
    after = learn(before, metrics(pending_mb=4096), 0, NOW, 360)

    # THEN half the backlog was kept over that minute, and this read is the next one's baseline
    assert after.backlog_kept == pytest.approx(0.5)
    assert (after.last_pending_mb, after.last_read_at) == (4096, NOW)


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
