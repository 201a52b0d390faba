"""Run the named policies on one workload: build each policy, replay, measure it against the bounds and frontier."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.engine import Progress, RunResult, simulate
from emr_autoscaler_dev.sim.frontier import Frontier, FrontierPoint, headroom_label, sweep_sizes, work_node_hours
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds, SimPolicy
from emr_autoscaler_dev.sim.policies.clairvoyant import ClairvoyantPolicy
from emr_autoscaler_dev.sim.policies.custom import EmrCustomPolicy
from emr_autoscaler_dev.sim.policies.managed import NAME as MANAGED
from emr_autoscaler_dev.sim.policies.managed import VARIANTS, ManagedLikePolicy, pick_headline
from emr_autoscaler_dev.sim.policies.static import StaticPolicy
from emr_autoscaler_dev.sim.trace import TraceJob
from emr_autoscaler_dev.sim.workload import Job, JobModel

POLICIES = ("autoscaler", "static", "emr-custom-policy", MANAGED, "clairvoyant")
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
# Old names still accepted on the command line, and what they are now.
ALIASES = {"oracle": "clairvoyant"}
# The clairvoyant policy's schedule step and the ideal replay's cadence (s).
IDEAL_INTERVAL_S = 10.0
HEADROOMS = (0.5, 0.75, 1.0)

# Called with each finished run (the sweep's too), for progress lines.
OnResult = Callable[[RunResult], None]


def zero_delay_run(
    jobs: Sequence[Job], spec: ClusterSpec, bounds: Bounds, seed: int, until_s: float | None = None
) -> tuple[RunResult, list[int]]:
    """Zero_delay_run replays the jobs on a cluster whose nodes start and stop instantly, tracking demand every 10 s.

    Returns the run (named `zero-delay`) and its node count per 10 s, the clairvoyant policy's schedule.
    """
    ideal = ManagedLikePolicy(bounds, interval_s=IDEAL_INTERVAL_S, scale_in_after_s=0.0, name="zero-delay")
    result = simulate(
        jobs, ideal, replace(spec, start_delay_s=0.0, start_jitter_s=0.0), bounds, seed=seed, until_s=until_s
    )
    return result, ideal.targets


def build_policy(
    name: str,
    jobs: Sequence[Job],
    config: ScalingPolicy,
    spec: ClusterSpec,
    seed: int,
    static_nodes: int | None = None,
    schedule: Sequence[int] | None = None,
) -> SimPolicy:
    """Build_policy makes the named policy (or a managed-like variant); every policy keeps to the group limits.

    `schedule` is the clairvoyant policy's (from `zero_delay_run`); it is measured here when not given.
    """
    name = ALIASES.get(name, name)
    bounds = Bounds.of(config)
    if name == "autoscaler":
        return AutoscalerPolicy(config)
    if name == "static":
        return StaticPolicy(static_nodes)
    if name == "emr-custom-policy":
        return EmrCustomPolicy(bounds)
    if name == MANAGED:
        return ManagedLikePolicy(bounds)
    for variant in VARIANTS:
        if name == variant.name:
            return ManagedLikePolicy.of(bounds, variant)
    if name == "clairvoyant":
        if schedule is None:
            schedule = zero_delay_run(jobs, spec, bounds, seed)[1]
        return ClairvoyantPolicy(bounds, schedule, spec.start_delay_s + spec.start_jitter_s, IDEAL_INTERVAL_S)
    known = ", ".join((*POLICIES, *VARIANT_NAMES))
    raise ValueError(f"unknown policy {name!r} (known: {known})")


def _timed(
    jobs: Sequence[Job],
    policy: SimPolicy,
    spec: ClusterSpec,
    bounds: Bounds,
    seed: int,
    until_s: float | None,
    progress: Progress | None,
    started: float,
) -> RunResult:
    result = simulate(jobs, policy, spec, bounds, seed=seed, until_s=until_s, progress=progress)
    # The wall time covers building the policy too: the clairvoyant policy's ideal replay is part of its cost.
    return replace(result, wall_s=time.perf_counter() - started)


def run_policies(
    jobs: Sequence[Job],
    names: Sequence[str],
    config: ScalingPolicy,
    spec: ClusterSpec,
    *,
    seed: int = 0,
    static_nodes: int | None = None,
    until_s: float | None = None,
    progress: Progress | None = None,
    on_result: OnResult | None = None,
    variants: bool = False,
    schedule: Sequence[int] | None = None,
) -> list[RunResult]:
    """Run_policies replays the same jobs, cluster and seed under each named policy, in the order given.

    `managed-like` runs its six variants and reports the headline one (`pick_headline`), named `managed-like`
    with its `variant`; `variants=True` adds every variant's own row after it.
    """
    bounds = Bounds.of(config)
    results: list[RunResult] = []
    for name in names:
        name = ALIASES.get(name, name)
        if name == MANAGED:
            rows = []
            for variant in VARIANTS:
                started = time.perf_counter()
                rows.append(
                    _timed(jobs, ManagedLikePolicy.of(bounds, variant), spec, bounds, seed, until_s, progress, started)
                )
                if on_result is not None:
                    on_result(rows[-1])
            best = pick_headline(rows)
            results.append(replace(best, policy=MANAGED, variant=best.policy))
            if variants:
                results.extend(rows)
            continue
        started = time.perf_counter()
        policy = build_policy(name, jobs, config, spec, seed, static_nodes, schedule)
        results.append(_timed(jobs, policy, spec, bounds, seed, until_s, progress, started))
        if on_result is not None:
            on_result(results[-1])
    return results


@dataclass(frozen=True, slots=True)
class Benchmark:
    """Benchmark is one workload's policy results (gaps filled in), its bound, reference and frontier."""

    results: tuple[RunResult, ...]
    work_node_hours: float
    zero_delay: RunResult
    frontier: Frontier

    def bounds_figures(self) -> dict[str, object]:
        """Bounds_figures is the JSON object with `"policy": "bounds"`: the bound, the reference, the frontier."""
        return {
            "policy": "bounds",
            "work_node_hours": round(self.work_node_hours, 2),
            "zero_delay_node_hours": round(self.zero_delay.node_hours, 2),
            "zero_delay_wait_p95_s": round(self.zero_delay.wait_p95_s, 1),
            "frontier": [
                {"node_hours": round(p.node_hours, 2), "wait_p95_s": round(p.wait_p95_s, 1), "point": p.label}
                for p in self.frontier.envelope
            ],
            "sweep": [
                {"node_hours": round(p.node_hours, 2), "wait_p95_s": round(p.wait_p95_s, 1), "point": p.label}
                for p in self.frontier.points
            ],
        }


def sweep(
    jobs: Sequence[Job],
    config: ScalingPolicy,
    spec: ClusterSpec,
    schedule: Sequence[int],
    *,
    seed: int = 0,
    points: int = 5,
    until_s: float | None = None,
    on_result: OnResult | None = None,
) -> Frontier:
    """Sweep runs `points` static sizes and the clairvoyant policy at `points` caps × `HEADROOMS`: the frontier.

    Sizes start at the fewest nodes that can do the work within the trace's span (at full utilization): a smaller
    cluster falls ever further behind, its point lies far beyond any policy's wait, and replaying its backlog
    would cost minutes for nothing.
    """
    bounds = Bounds.of(config)
    lookahead_s = spec.start_delay_s + spec.start_jitter_s
    span_h = max(1.0, max((j.submit_s for j in jobs), default=0.0) / 3600.0)
    keeps_up = math.ceil(work_node_hours(jobs, spec.capacity, bounds) / span_h - 1e-9)
    low = max(bounds.min_nodes, 1, min(bounds.max_nodes, keeps_up))
    policies: list[SimPolicy] = [
        StaticPolicy(n, name=f"static {n}") for n in sweep_sizes(low, bounds.max_nodes, points)
    ]
    for cap in sweep_sizes(low, bounds.max_nodes, points):
        for headroom in HEADROOMS:
            policies.append(
                ClairvoyantPolicy(
                    bounds,
                    schedule,
                    lookahead_s,
                    IDEAL_INTERVAL_S,
                    cap_nodes=cap,
                    headroom=headroom,
                    name=headroom_label(cap, headroom),
                )
            )
    found = []
    for policy in policies:
        result = simulate(jobs, policy, spec, bounds, seed=seed, until_s=until_s)
        if on_result is not None:
            on_result(result)
        found.append(FrontierPoint(policy.name, result.node_hours, result.wait_p95_s))
    return Frontier(tuple(found))


def run_benchmark(
    jobs: Sequence[Job],
    names: Sequence[str],
    config: ScalingPolicy,
    spec: ClusterSpec,
    *,
    seed: int = 0,
    static_nodes: int | None = None,
    until_s: float | None = None,
    frontier_points: int = 5,
    progress: Progress | None = None,
    on_result: OnResult | None = None,
    variants: bool = False,
) -> Benchmark:
    """Run_benchmark runs the policies, the zero-delay reference and the frontier sweep, and fills in the gaps."""
    bounds = Bounds.of(config)
    zero_delay, schedule = zero_delay_run(jobs, spec, bounds, seed, until_s)
    frontier = sweep(
        jobs, config, spec, schedule, seed=seed, points=frontier_points, until_s=until_s, on_result=on_result
    )
    results = run_policies(
        jobs,
        names,
        config,
        spec,
        seed=seed,
        static_nodes=static_nodes,
        until_s=until_s,
        progress=progress,
        on_result=on_result,
        variants=variants,
        schedule=schedule,
    )
    gapped = tuple(
        replace(
            r,
            cost_gap=frontier.cost_gap(r.node_hours, r.wait_p95_s),
            wait_gap=frontier.wait_gap(r.node_hours, r.wait_p95_s),
        )
        for r in results
    )
    work = work_node_hours(jobs, spec.capacity, bounds, until_s)
    return Benchmark(gapped, work, zero_delay, frontier)


def fit_scale(
    trace: Sequence[TraceJob],
    model: JobModel,
    spec: ClusterSpec,
    nodes: int,
    utilization: float,
    span_s: float | None = None,
) -> float:
    """Fit_scale is the byte scale at which the trace's work fills `nodes` nodes at `utilization` over `span_s`.

    The span defaults to time zero to the last submit (at least one hour). Work grows with the scale, but not in
    proportion (per-container startup time, whole containers), so the factor is found by bisection.
    """
    if not trace:
        raise ValueError("no job to fit")
    if span_s is None:
        span_s = max(3600.0, max(j.submit_s for j in trace))
    target_mb_s = nodes * utilization * span_s * spec.capacity.memory_mb
    target_vcore_s = nodes * utilization * span_s * spec.capacity.vcores

    def overfull(scale: float) -> bool:
        jobs = replace(model, scale=scale).jobs(trace)
        return (
            sum(j.container_mb_s for j in jobs) > target_mb_s or sum(j.container_vcore_s for j in jobs) > target_vcore_s
        )

    low, high = 1e-6, 1.0
    while not overfull(high):
        low, high = high, high * 4.0
        if high > 1e9:
            return high  # even enormous data does not fill the nodes: the per-job AM and startup dominate
    if overfull(low):
        return low
    for _ in range(40):
        mid = math.sqrt(low * high)
        if overfull(mid):
            high = mid
        else:
            low = mid
        if high / low < 1.001:
            break
    return low
