"""Whole runs: every policy replays a trace slice to the end, deterministically, and the figures hang together."""

from __future__ import annotations

import pytest

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.engine import RunResult
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.run import POLICIES, run_policies
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import JobModel
from tests.unit.sim.builders import FB_TRACE


@pytest.fixture(scope="module")
def fb_results() -> list[RunResult]:
    jobs = JobModel().jobs(load_trace(FB_TRACE, hours=2))
    return run_policies(jobs, POLICIES, ScalingPolicy(), ClusterSpec(), seed=3)


def test_every_policy_finishes_every_job_within_its_limits(fb_results: list[RunResult]) -> None:
    # GIVEN two hours of FB-2009 replayed under all five policies, within the default limits
    bounds = Bounds.of(ScalingPolicy())
    spec = ClusterSpec()

    # WHEN the runs end
    # THEN no job is left, nothing ran faster than on an unconstrained cluster, sizes stay in bounds, the billed
    # node-hours lie between the fixed CORE nodes' and the peak's over the whole run, and cost is those at the
    # instance type's price
    assert (bounds.min_nodes, bounds.max_nodes) == (2, 22)
    assert [r.policy for r in fb_results] == list(POLICIES)
    for result in fb_results:
        hours = result.simulated_s / 3600.0
        assert result.unfinished_jobs == 0
        assert result.mean_slowdown >= 1.0 - 1e-9
        assert result.mean_bounded_slowdown >= 1.0 - 1e-9
        assert 0.0 <= result.wait_p50_s <= result.wait_p95_s <= result.wait_p99_s
        assert result.p95_slowdown >= 1.0 - 1e-9
        assert bounds.min_nodes <= max(result.series.capacity_nodes) <= bounds.max_nodes + 1e-9
        assert bounds.min_nodes <= result.peak_nodes <= bounds.max_nodes
        assert bounds.min_nodes * hours - 1e-9 <= result.node_hours <= result.peak_nodes * hours + 1e-9
        assert result.cost_usd == pytest.approx(result.node_hours * spec.price)


def test_static_at_the_largest_size_is_the_costliest(fb_results: list[RunResult]) -> None:
    # GIVEN the runs
    by_name = {r.policy: r for r in fb_results}

    # WHEN costs are compared
    # THEN the cluster that never shrinks costs most and never resizes
    assert by_name["static"].resize_actions == 0
    assert all(r.node_hours <= by_name["static"].node_hours for r in fb_results)


def test_the_clairvoyant_policy_waits_less_than_the_reactive_policies(fb_results: list[RunResult]) -> None:
    # GIVEN the runs
    by_name = {r.policy: r for r in fb_results}

    # WHEN pending container time is compared
    # THEN knowing demand a start delay ahead beats reacting to it
    for name in ("autoscaler", "emr-custom-policy", "managed-like"):
        assert by_name["clairvoyant"].pending_container_hours <= by_name[name].pending_container_hours


@pytest.mark.parametrize("policy", POLICIES)
def test_the_same_seed_gives_the_same_figures(policy: str) -> None:
    # GIVEN a short slice and one policy
    jobs = JobModel().jobs(load_trace(FB_TRACE, hours=1))

    # WHEN run twice with the same seed
    first, second = (run_policies(jobs, [policy], ScalingPolicy(), ClusterSpec(), seed=11)[0] for _ in range(2))

    # THEN every figure and the whole time series are equal
    assert {k: v for k, v in first.figures().items() if k != "wall_s"} == {
        k: v for k, v in second.figures().items() if k != "wall_s"
    }
    assert first.series == second.series


def test_the_synthetic_workload_is_reproducible_and_runs() -> None:
    # GIVEN the generator for three hours
    workload = SyntheticWorkload(hours=3.0)

    # WHEN generated twice with one seed and once with another
    a, b, c = workload.generate(5), workload.generate(5), workload.generate(6)
    result = run_policies(JobModel().jobs(a), ["managed-like"], ScalingPolicy(), ClusterSpec(), seed=0)[0]

    # THEN the same seed gives the same jobs, another seed others, and the jobs replay to the end
    assert a == b
    assert a != c
    assert all(j.submit_s < 3 * 3600 for j in a)
    assert result.unfinished_jobs == 0
