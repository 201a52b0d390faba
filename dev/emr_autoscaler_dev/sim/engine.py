"""The simulation loop: jump from event to event, let the policy decide at its cadence, measure the run.

Time is continuous (s since the trace starts) and advances to the next thing that happens: a container ends, a
job arrives, a node starts or its drain times out, a metrics sample (every 60 s) or a policy evaluation. The run
ends when every job has finished (so slow policies pay for their tail), or `max_extra_s` after the last
submit, whichever comes first.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from emr_autoscaler_dev.sim.cluster import ClusterSpec, SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, SimPolicy
from emr_autoscaler_dev.sim.workload import Job

SAMPLE_S = 60.0

# Progress is reported as (policy name, simulated s so far, last submit s).
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True, slots=True)
class Series:
    """Series is the run sampled every minute: time (s), billed nodes, YARN capacity and demand (in nodes)."""

    time_s: tuple[float, ...]
    billed_nodes: tuple[int, ...]
    capacity_nodes: tuple[float, ...]
    demand_nodes: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RunResult:
    """RunResult holds one policy's figures on one trace (hours, USD, ratios, counts) and its time series."""

    policy: str
    node_hours: float
    cost_usd: float
    pending_container_hours: float
    mean_slowdown: float
    p95_slowdown: float
    resize_actions: int
    peak_nodes: int
    jobs: int
    unfinished_jobs: int
    killed_containers: int
    simulated_s: float
    wall_s: float
    series: Series

    def figures(self) -> dict[str, object]:
        """Figures is the JSON view of the result (the CLI's `--json` keys first)."""
        return {
            "policy": self.policy,
            "node_hours": round(self.node_hours, 2),
            "pending_container_hours": round(self.pending_container_hours, 2),
            "mean_slowdown": round(self.mean_slowdown, 3),
            "p95_slowdown": round(self.p95_slowdown, 3),
            "resize_actions": self.resize_actions,
            "peak_nodes": self.peak_nodes,
            "cost_usd": round(self.cost_usd, 2),
            "jobs": self.jobs,
            "unfinished_jobs": self.unfinished_jobs,
            "killed_containers": self.killed_containers,
            "simulated_hours": round(self.simulated_s / 3600.0, 3),
            "wall_s": round(self.wall_s, 3),
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Percentile is the nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def simulate(
    jobs: Sequence[Job],
    policy: SimPolicy,
    spec: ClusterSpec,
    bounds: Bounds,
    *,
    seed: int = 0,
    max_extra_s: float = 14 * 86400.0,
    progress: Progress | None = None,
) -> RunResult:
    """Simulate replays `jobs` (sorted by submit time) on a cluster scaled by `policy`; deterministic per seed."""
    started = time.perf_counter()
    core, task = policy.initial_counts(bounds)
    spec = replace(spec, core_nodes=core, task_nodes=task)
    min_container = (
        min(min(j.map_memory_mb, j.reduce_memory_mb if j.reduces else j.map_memory_mb) for j in jobs),
        min(min(j.map_vcores, j.reduce_vcores if j.reduces else j.map_vcores) for j in jobs),
    )
    cluster = SimCluster(spec, random.Random(seed), min_container)  # noqa: S311 - a simulation, not a secret
    feed = CloudWatchFeed(sample_s=SAMPLE_S)
    node_mb = cluster.capacity.memory_mb
    total_jobs = len(jobs)
    last_submit_s = jobs[-1].submit_s if jobs else 0.0
    limit_s = last_submit_s + max_extra_s
    next_job = 0
    next_eval_s = 0.0
    next_sample_s = 0.0
    next_progress_s = 3600.0
    interval_s = policy.interval_s
    now_s = 0.0
    pending_integral = 0.0
    actions = 0
    times: list[float] = []
    billed: list[int] = []
    capacity: list[float] = []
    demand: list[float] = []
    inf = math.inf
    while True:
        next_event = cluster.events[0][0] if cluster.events else inf
        next_arrival = jobs[next_job].submit_s if next_job < total_jobs else inf
        t = min(next_event, next_arrival, next_eval_s, next_sample_s)
        if t > limit_s:
            break
        pending_integral += cluster.containers_pending * (t - now_s)
        now_s = t
        if next_event <= t:
            cluster.advance(t)
        while next_job < total_jobs and jobs[next_job].submit_s <= t:
            cluster.submit(jobs[next_job])
            next_job += 1
        if cluster.dirty:
            cluster.allocate(t)
        if next_job == total_jobs and len(cluster.finished_s) == total_jobs:
            break
        if t >= next_sample_s:
            feed.sample(cluster, t)
            times.append(t)
            billed.append(cluster.billed_nodes)
            capacity.append(cluster.total_mb / node_mb)
            demand.append((cluster.allocated_mb + cluster.pending_mb) / node_mb)
            next_sample_s += SAMPLE_S
        if t >= next_eval_s:
            for resize in policy.decide(cluster, feed, t):
                cluster.resize(resize.group, resize.to_count, resize.decommission_timeout_s, t)
                actions += 1
            next_eval_s += interval_s
        if progress is not None and t >= next_progress_s:
            progress(policy.name, t, last_submit_s)
            next_progress_s += 3600.0
    slowdowns = []
    for job in jobs:
        end_s = cluster.finished_s.get(job.index, now_s)
        slowdowns.append((end_s - job.submit_s) / max(job.unconstrained_s, 1e-9))
    node_hours = cluster.node_seconds(now_s) / 3600.0
    return RunResult(
        policy=policy.name,
        node_hours=node_hours,
        cost_usd=node_hours * spec.price,
        pending_container_hours=pending_integral / 3600.0,
        mean_slowdown=sum(slowdowns) / len(slowdowns) if slowdowns else 0.0,
        p95_slowdown=percentile(slowdowns, 95.0),
        resize_actions=actions,
        peak_nodes=cluster.peak_nodes,
        jobs=total_jobs,
        unfinished_jobs=total_jobs - len(cluster.finished_s),
        killed_containers=cluster.killed_containers,
        simulated_s=now_s,
        wall_s=time.perf_counter() - started,
        series=Series(tuple(times), tuple(billed), tuple(capacity), tuple(demand)),
    )
