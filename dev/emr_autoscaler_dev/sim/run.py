"""Run the named policies on one workload: build each policy, replay, collect the results."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.engine import Progress, RunResult, simulate
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds, SimPolicy
from emr_autoscaler_dev.sim.policies.custom import EmrCustomPolicy
from emr_autoscaler_dev.sim.policies.managed import ManagedLikePolicy
from emr_autoscaler_dev.sim.policies.oracle import OraclePolicy
from emr_autoscaler_dev.sim.policies.static import StaticPolicy
from emr_autoscaler_dev.sim.workload import Job

POLICIES = ("autoscaler", "static", "emr-custom-policy", "managed-like", "oracle")


def oracle_schedule(jobs: Sequence[Job], spec: ClusterSpec, bounds: Bounds, seed: int, interval_s: float) -> list[int]:
    """Oracle_schedule is the node count, every `interval_s` s, of an ideal cluster whose nodes start instantly."""
    ideal = ManagedLikePolicy(bounds, interval_s=interval_s, scale_in_after_s=0.0)
    simulate(jobs, ideal, replace(spec, start_delay_s=0.0, start_jitter_s=0.0), bounds, seed=seed)
    return ideal.targets


def build_policy(
    name: str,
    jobs: Sequence[Job],
    config: ScalingPolicy,
    spec: ClusterSpec,
    seed: int,
    static_nodes: int | None = None,
) -> SimPolicy:
    """Build_policy makes the named policy; every policy keeps to the configuration's group limits."""
    bounds = Bounds.of(config)
    if name == "autoscaler":
        return AutoscalerPolicy(config)
    if name == "static":
        return StaticPolicy(static_nodes)
    if name == "emr-custom-policy":
        return EmrCustomPolicy(bounds)
    if name == "managed-like":
        return ManagedLikePolicy(bounds)
    if name == "oracle":
        interval_s = 10.0
        schedule = oracle_schedule(jobs, spec, bounds, seed, interval_s)
        return OraclePolicy(bounds, schedule, spec.start_delay_s + spec.start_jitter_s, interval_s)
    raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICIES)})")


def run_policies(
    jobs: Sequence[Job],
    names: Sequence[str],
    config: ScalingPolicy,
    spec: ClusterSpec,
    *,
    seed: int = 0,
    static_nodes: int | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Run_policies replays the same jobs, cluster and seed under each named policy, in the order given."""
    bounds = Bounds.of(config)
    results = []
    for name in names:
        started = time.perf_counter()
        policy = build_policy(name, jobs, config, spec, seed, static_nodes)
        result = simulate(jobs, policy, spec, bounds, seed=seed, progress=progress)
        # The wall time covers building the policy too: the oracle's ideal replay is part of its cost.
        results.append(replace(result, wall_s=time.perf_counter() - started))
    return results
