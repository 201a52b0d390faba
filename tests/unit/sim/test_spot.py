"""The simulator's Spot model: shortage windows, interruptions, market prices, and the core's fleet path driving it."""

from __future__ import annotations

import random
from dataclasses import replace

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.scaling.domain.decisions import ReasonCode
from emr_autoscaler_dev.sim.cluster import SPOT, ClusterSpec, NodeState, SimCluster
from emr_autoscaler_dev.sim.engine import simulate
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds
from tests.unit.sim.builders import SMALL_NODE, job


def _spot_cluster(**spot: object) -> SimCluster:
    spec = ClusterSpec(
        instance_type="m5.xlarge",
        core_nodes=1,
        start_delay_s=300.0,
        start_jitter_s=0.0,
        node_capacity=SMALL_NODE,
        spot_task=True,
        **spot,  # type: ignore[arg-type]
    )
    return SimCluster(spec, random.Random(0), (3072, 1))


def test_spot_requests_in_a_shortage_window_fill_only_after_it_and_are_billed_from_then() -> None:
    # GIVEN a Spot shortage from 0 to 3600 s
    cluster = _spot_cluster(spot_short=((0.0, 3600.0),))
    # WHEN two Spot nodes and one On-Demand node are asked for at 100 s
    assert cluster.task_od is not None
    cluster.resize(cluster.task, 2, 3600.0, 100.0)
    cluster.resize(cluster.task_od, 1, 3600.0, 100.0)
    cluster.advance(1000.0)
    # THEN On-Demand runs after its start delay, Spot still waits
    assert cluster.task_od.running_count == 1
    assert cluster.task.running_count == 0
    cluster.advance(3600.0 + 300.0)
    assert cluster.task.running_count == 2
    # AND the Spot nodes cost nothing while unfilled, then Spot's share of the price
    assert cluster.market_node_seconds(3900.0, SPOT) == 2 * 300.0


def test_a_reclaimed_spot_node_loses_its_containers_and_emr_starts_another() -> None:
    # GIVEN a running Spot node reclaimed very often, with work on it
    cluster = _spot_cluster(spot_interruptions_per_node_hour=3600.0)
    cluster.resize(cluster.task, 1, 3600.0, 0.0)
    cluster.advance(300.0)
    cluster.submit(job(maps=8, map_s=1000.0))
    cluster.allocate(300.0)
    # WHEN time passes
    cluster.advance(310.0)
    # THEN it was reclaimed, its containers killed, and a replacement requested (the group keeps its count)
    assert cluster.interrupted_nodes >= 1
    assert cluster.killed_containers > 0
    assert any(n.state is NodeState.STARTING for n in cluster.task.nodes)
    assert cluster.task.requested == 1


def test_the_core_fleet_path_falls_back_when_spot_is_short_and_holding_waits() -> None:
    # GIVEN a workload that needs TASK nodes while Spot is short for its whole first two hours
    jobs = [job(index=i, submit_s=600.0 * i, maps=16, map_s=900.0) for i in range(8)]
    spec = ClusterSpec(
        instance_type="m5.xlarge",
        start_delay_s=300.0,
        start_jitter_s=0.0,
        node_capacity=SMALL_NODE,
        spot_task=True,
        spot_short=((0.0, 7200.0),),
    )

    def run(fallback: bool) -> tuple[float, AutoscalerPolicy]:
        config = ScalingPolicy.model_validate(
            {"fleets": {"task": {"max_units": 10, "max_on_demand_units": 6}, "spot": {"fallback": fallback}}}
        )
        scaler = AutoscalerPolicy(config)
        result = simulate(jobs, scaler, spec, Bounds.of(config), seed=0)
        return result.wait_p95_s, scaler

    # WHEN the same jobs run with the fallback and without
    wait_fallback, with_fallback = run(True)
    wait_hold, holding = run(False)
    # THEN only the first falls back, and its jobs wait less
    assert with_fallback.reasons[ReasonCode.SCALE_SPOT_FALLBACK] >= 1
    assert holding.reasons[ReasonCode.SCALE_SPOT_FALLBACK] == 0
    assert wait_fallback < wait_hold


def test_ec2_warns_two_minutes_before_a_spot_node_is_reclaimed() -> None:
    # GIVEN a running Spot node reclaimed often, EC2 warning 120 s ahead
    cluster = _spot_cluster(spot_interruptions_per_node_hour=2.0)
    cluster.resize(cluster.task, 1, 3600.0, 0.0)
    cluster.advance(300.0)
    (node,) = cluster.task.nodes
    # WHEN time passes until the warning
    while not cluster.warnings:
        assert cluster.next_event_s is not None
        cluster.advance(cluster.next_event_s)
    (warned, warned_s) = cluster.take_warnings()[0]
    # THEN the warned node still runs, and is reclaimed 120 s later (not before)
    assert warned is node
    assert node.state is NodeState.RUNNING
    cluster.advance(warned_s + 119.0)
    assert cluster.interrupted_nodes == 0
    cluster.advance(warned_s + 120.0)
    assert cluster.interrupted_nodes == 1
    assert cluster.take_warnings() == []


def test_the_core_replaces_a_warned_node_in_advance_and_without_warning_it_cannot() -> None:
    # GIVEN a busy Spot fleet whose nodes are reclaimed at 0.5 per node-hour
    jobs = [job(index=i, submit_s=300.0 * i, maps=24, map_s=1800.0) for i in range(12)]
    spec = ClusterSpec(
        instance_type="m5.xlarge",
        start_delay_s=300.0,
        start_jitter_s=0.0,
        node_capacity=SMALL_NODE,
        spot_task=True,
        spot_interruptions_per_node_hour=0.5,
    )
    config = ScalingPolicy.model_validate({"fleets": {"task": {"max_units": 40, "max_on_demand_units": 6}}})

    def run(warning_s: float) -> AutoscalerPolicy:
        scaler = AutoscalerPolicy(config)
        simulate(jobs, scaler, replace(spec, spot_warning_s=warning_s), Bounds.of(config), seed=0)
        return scaler

    # WHEN the jobs run with EC2's two-minute warning and without any
    warned, unwarned = run(120.0), run(0.0)
    # THEN with the warning the core replaced reclaimed nodes in advance (and took the targets back after), and
    # without it it never could
    assert warned.reasons[ReasonCode.SCALE_REPLACE_INTERRUPTED] >= 2
    assert warned.state.interruptions
    assert unwarned.reasons[ReasonCode.SCALE_REPLACE_INTERRUPTED] == 0
