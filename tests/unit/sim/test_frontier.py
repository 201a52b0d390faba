"""The yardstick: the work bound holds for every policy, the frontier is a lower envelope, the gaps measure to it."""

from __future__ import annotations

import itertools
import random

import pytest

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.frontier import Frontier, FrontierPoint, lower_envelope, work_node_hours
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.run import POLICIES, Benchmark, run_benchmark
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import JobModel
from tests.unit.sim.builders import FB_TRACE


@pytest.fixture(scope="module", params=["fb-2h", "synthetic-3h"])
def benchmark(request: pytest.FixtureRequest) -> Benchmark:
    trace = load_trace(FB_TRACE, hours=2) if request.param == "fb-2h" else SyntheticWorkload(hours=3.0).generate(3)
    jobs = JobModel().jobs(trace)
    return run_benchmark(jobs, POLICIES, ScalingPolicy(), ClusterSpec(), seed=1, frontier_points=4, variants=True)


def test_no_policy_and_no_swept_run_costs_less_than_the_work_bound(benchmark: Benchmark) -> None:
    # GIVEN every policy, every managed-like variant, the zero-delay reference and the frontier sweep
    runs = [(r.policy, r.node_hours) for r in benchmark.results]
    runs += [(p.label, p.node_hours) for p in benchmark.frontier.points]
    runs.append(("zero-delay", benchmark.zero_delay.node_hours))

    # WHEN each is compared with the bound
    below = [(name, hours) for name, hours in runs if hours < benchmark.work_node_hours - 1e-9]

    # THEN none is below it, and the bound is not trivially zero
    assert benchmark.work_node_hours > 0
    assert below == []


def test_the_work_bound_is_the_larger_of_the_work_and_the_fixed_nodes() -> None:
    # GIVEN one hour of FB-2009 on the default limits (2 fixed CORE nodes)
    jobs = JobModel().jobs(load_trace(FB_TRACE, hours=1))
    spec = ClusterSpec()
    bounds = Bounds.of(ScalingPolicy())
    node = spec.capacity
    by_memory = sum(j.container_mb_s for j in jobs) / node.memory_mb / 3600.0
    by_vcores = sum(j.container_vcore_s for j in jobs) / node.vcores / 3600.0
    horizon_h = max(j.submit_s + j.unconstrained_s for j in jobs) / 3600.0

    # WHEN the bound is computed, with the AM, without it, and for a run stopped at 30 minutes
    bound = work_node_hours(jobs, node, bounds)
    without_am = work_node_hours(JobModel(am_memory_mb=0).jobs(load_trace(FB_TRACE, hours=1)), node, bounds)
    stopped = work_node_hours(jobs, node, bounds, until_s=1800.0)

    # THEN it is the largest of the three, the AM adds work, and a stopped run only keeps the fixed nodes' part
    assert bound == pytest.approx(max(by_memory, by_vcores, 2 * horizon_h))
    assert without_am <= bound
    assert stopped == pytest.approx(2 * 0.5)


def test_the_frontier_is_the_lower_envelope_of_the_sweep(benchmark: Benchmark) -> None:
    # GIVEN the swept points and their envelope
    points = benchmark.frontier.points
    envelope = benchmark.frontier.envelope

    # WHEN each point is compared with the envelope
    # THEN every envelope point is a swept point, along it cost rises while wait strictly falls, every swept
    # point is dominated by (or is) an envelope point, and no envelope point is dominated by another swept point
    assert set(envelope) <= set(points)
    assert all(a.node_hours <= b.node_hours and a.wait_p95_s > b.wait_p95_s for a, b in itertools.pairwise(envelope))
    for point in points:
        assert any(e.node_hours <= point.node_hours and e.wait_p95_s <= point.wait_p95_s for e in envelope)
    for e in envelope:
        assert not any(
            p.node_hours <= e.node_hours
            and p.wait_p95_s <= e.wait_p95_s
            and (p.node_hours, p.wait_p95_s)
            != (
                e.node_hours,
                e.wait_p95_s,
            )
            for p in points
        )


@pytest.mark.parametrize("seed", range(20))
def test_lower_envelope_holds_on_random_points(seed: int) -> None:
    # GIVEN random (cost, wait) points, wait not monotone in cost
    rng = random.Random(seed)
    points = [FrontierPoint(f"p{i}", rng.uniform(1, 100), rng.choice([0.0, rng.uniform(0, 500)])) for i in range(30)]

    # WHEN enveloped
    envelope = lower_envelope(points)
    frontier = Frontier(tuple(points))

    # THEN nothing lies below it: for any cost, the envelope's best wait is the best wait of any point that cheap
    for point in points:
        assert frontier.wait_at(point.node_hours) == min(
            p.wait_p95_s for p in points if p.node_hours <= point.node_hours
        )
        best = [e.wait_p95_s for e in envelope if e.node_hours <= point.node_hours]
        assert best
        assert min(best) <= point.wait_p95_s


def test_gaps_are_one_on_the_frontier_above_one_off_it_and_none_beyond_it() -> None:
    # GIVEN a frontier: 10 node-hours wait 100 s, 20 node-hours wait 10 s
    frontier = Frontier(
        (FrontierPoint("a", 10.0, 100.0), FrontierPoint("b", 20.0, 10.0), FrontierPoint("c", 30.0, 50.0))
    )

    # WHEN policies on, above and beyond it are measured
    # THEN on it both gaps are 1; a policy at 25 node-hours waiting 50 s costs 2.5× the frontier at 50 s (10 nh
    # waits 100 s: too long; 20 nh waits 10 s) and waits 5× its 10 s; past either end there is no gap
    assert (frontier.cost_gap(20.0, 10.0), frontier.wait_gap(20.0, 10.0)) == (1.0, 1.0)
    assert frontier.cost_gap(25.0, 50.0) == pytest.approx(25.0 / 20.0)
    assert frontier.wait_gap(25.0, 50.0) == pytest.approx(5.0)
    assert frontier.cost_gap(40.0, 5.0) is None  # waits less than any swept run
    assert frontier.wait_gap(5.0, 500.0) is None  # cheaper than any swept run
    assert frontier.cost_gap(8.0, 200.0) == pytest.approx(0.8)  # below 1: better than the frontier


def test_every_policy_row_carries_its_gaps(benchmark: Benchmark) -> None:
    # GIVEN the results
    # WHEN read  THEN each gap is what the frontier says for that row's cost and wait
    for result in benchmark.results:
        assert result.cost_gap == benchmark.frontier.cost_gap(result.node_hours, result.wait_p95_s)
        assert result.wait_gap == benchmark.frontier.wait_gap(result.node_hours, result.wait_p95_s)
