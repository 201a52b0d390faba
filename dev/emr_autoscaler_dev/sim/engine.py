"""The simulation loop: jump from event to event, let the policy decide at its cadence, measure the run.

Time is continuous (s since the trace starts) and advances to the next thing that happens: a container ends, a
job arrives, a node starts or its drain times out, a metrics sample (every 60 s) or a policy evaluation. The run
ends when every job has finished (so slow policies pay for their tail), at `until_s` when given (unfinished jobs
and the work still to do are reported), or `max_extra_s` after the last submit, whichever comes first.

Wait metrics weigh every job alike: a job's wait is its finish − submit − ideal runtime (s), reported at p50, p95
and p99; the mean bounded slowdown divides its time in the system by max(ideal runtime, 10 s), so a 4-s job
that waits 3 s does not count as a 1.75× slowdown (Feitelson et al.'s bounded slowdown, docs/simulator.md).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from emr_autoscaler_dev.sim.cluster import SPOT, ClusterSpec, SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, SimPolicy
from emr_autoscaler_dev.sim.waiting import AM, REDUCE
from emr_autoscaler_dev.sim.workload import Job

SAMPLE_S = 60.0
# The bounded slowdown's threshold (s): runtimes shorter than this count as this long.
BOUNDED_SLOWDOWN_S = 10.0

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
    wait_p50_s: float
    wait_p95_s: float
    wait_p99_s: float
    mean_bounded_slowdown: float
    mean_slowdown: float
    p95_slowdown: float
    resize_actions: int
    node_launches: int
    peak_nodes: int
    jobs: int
    unfinished_jobs: int
    pending_work_node_hours: float
    killed_containers: int
    simulated_s: float
    wall_s: float
    series: Series
    cost_gap: float | None = None
    wait_gap: float | None = None
    variant: str | None = None
    # Spot runs only (ClusterSpec.spot_task): node-hours on Spot, and the Spot nodes EC2 reclaimed.
    spot_node_hours: float = 0.0
    interrupted_nodes: int = 0

    def figures(self) -> dict[str, object]:
        """Figures is the JSON view of the result (the CLI's `--json` keys first; a gap is null off the frontier)."""
        figures: dict[str, object] = {
            "policy": self.policy,
            "node_hours": round(self.node_hours, 2),
            "cost_usd": round(self.cost_usd, 2),
            "wait_p50_s": round(self.wait_p50_s, 1),
            "wait_p95_s": round(self.wait_p95_s, 1),
            "wait_p99_s": round(self.wait_p99_s, 1),
            "mean_bounded_slowdown": round(self.mean_bounded_slowdown, 3),
            "mean_slowdown": round(self.mean_slowdown, 3),
            "p95_slowdown": round(self.p95_slowdown, 3),
            "resize_actions": self.resize_actions,
            "node_launches": self.node_launches,
            "peak_nodes": self.peak_nodes,
            "unfinished_jobs": self.unfinished_jobs,
            "cost_gap": None if self.cost_gap is None else round(self.cost_gap, 3),
            "wait_gap": None if self.wait_gap is None else round(self.wait_gap, 3),
            "pending_container_hours": round(self.pending_container_hours, 2),
            "pending_work_node_hours": round(self.pending_work_node_hours, 2),
            "jobs": self.jobs,
            "killed_containers": self.killed_containers,
            "simulated_hours": round(self.simulated_s / 3600.0, 3),
            "wall_s": round(self.wall_s, 3),
        }
        if self.variant is not None:
            figures["variant"] = self.variant
        return figures


def percentile(values: Sequence[float], pct: float) -> float:
    """Percentile is the nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def remaining_work_mb_s(cluster: SimCluster, jobs: Sequence[Job], now_s: float) -> float:
    """Remaining_work_mb_s is the YARN memory-time (MB·s) the unfinished jobs still need at `now_s`.

    It counts what running containers have left, the waiting containers, the reduces of jobs still mapping, the
    maps of jobs whose AM waits, and every job not yet submitted; AMs are left out (they only wait for the rest).
    """
    left = 0.0
    for node in cluster.nodes:
        for batch in node.batches:
            if batch.phase != AM:
                left += batch.count * batch.memory_mb * max(0.0, batch.end_s - now_s)
    for request in cluster.pending:
        if request.phase != AM:
            job = request.job
            left += request.count * request.memory_mb * (job.reduce_s if request.phase == REDUCE else job.map_s)
    for job in jobs:
        if job.index in cluster.finished_s:
            continue
        if job.submit_s > now_s or job.index not in cluster.outstanding:
            left += job.task_mb_s  # not submitted, or its AM still waits: no task has been asked for yet
        elif job.reduces and job.index not in cluster.reducing:
            left += job.reduces * job.reduce_s * job.reduce_memory_mb
    return left


def simulate(
    jobs: Sequence[Job],
    policy: SimPolicy,
    spec: ClusterSpec,
    bounds: Bounds,
    *,
    seed: int = 0,
    max_extra_s: float = 14 * 86400.0,
    until_s: float | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Simulate replays `jobs` (sorted by submit time) on a cluster scaled by `policy`; deterministic per seed.

    `until_s` stops the run there: jobs not finished by then count as unfinished, their wait so far as their wait.
    """
    started = time.perf_counter()
    core, task = policy.initial_counts(bounds)
    spec = replace(spec, core_nodes=core, task_nodes=task)
    min_container = (
        min(
            min(
                j.map_memory_mb, j.reduce_memory_mb if j.reduces else j.map_memory_mb, j.am_memory_mb or j.map_memory_mb
            )
            for j in jobs
        ),
        min(
            min(j.map_vcores, j.reduce_vcores if j.reduces else j.map_vcores, j.am_vcores or j.map_vcores) for j in jobs
        ),
    )
    cluster = SimCluster(spec, random.Random(seed), min_container)  # noqa: S311 - a simulation, not a secret
    feed = CloudWatchFeed(sample_s=SAMPLE_S)
    total_jobs = len(jobs)
    last_submit_s = jobs[-1].submit_s if jobs else 0.0
    limit_s = last_submit_s + max_extra_s
    if until_s is not None:
        limit_s = min(limit_s, until_s)
    now_s, pending_integral, actions, series = _replay(cluster, jobs, policy, feed, limit_s, until_s, progress)
    node_mb = cluster.capacity.memory_mb
    slowdowns = []
    bounded = []
    waits = []
    finished = cluster.finished_s
    for job in jobs:
        if job.submit_s > now_s:
            continue  # never submitted before the run stopped: no wait yet
        ideal = job.unconstrained_s
        in_system = finished.get(job.index, now_s) - job.submit_s
        slowdowns.append(in_system / max(ideal, 1e-9))
        bounded.append(max(1.0, in_system / max(ideal, BOUNDED_SLOWDOWN_S)))
        waits.append(max(0.0, in_system - ideal))
    node_hours = cluster.node_seconds(now_s) / 3600.0
    return RunResult(
        policy=policy.name,
        node_hours=node_hours,
        cost_usd=cluster.cost_usd(now_s) if spec.spot_task else node_hours * spec.price,
        pending_container_hours=pending_integral / 3600.0,
        wait_p50_s=percentile(waits, 50.0),
        wait_p95_s=percentile(waits, 95.0),
        wait_p99_s=percentile(waits, 99.0),
        mean_bounded_slowdown=sum(bounded) / len(bounded) if bounded else 0.0,
        mean_slowdown=sum(slowdowns) / len(slowdowns) if slowdowns else 0.0,
        p95_slowdown=percentile(slowdowns, 95.0),
        resize_actions=actions,
        node_launches=len(cluster.nodes) - cluster.initial_nodes,
        peak_nodes=cluster.peak_nodes,
        jobs=total_jobs,
        unfinished_jobs=total_jobs - len(cluster.finished_s),
        pending_work_node_hours=remaining_work_mb_s(cluster, jobs, now_s) / node_mb / 3600.0,
        killed_containers=cluster.killed_containers,
        simulated_s=now_s,
        wall_s=time.perf_counter() - started,
        series=series,
        spot_node_hours=cluster.market_node_seconds(now_s, SPOT) / 3600.0 if spec.spot_task else 0.0,
        interrupted_nodes=cluster.interrupted_nodes,
    )


def _replay(
    cluster: SimCluster,
    jobs: Sequence[Job],
    policy: SimPolicy,
    feed: CloudWatchFeed,
    limit_s: float,
    until_s: float | None,
    progress: Progress | None,
) -> tuple[float, float, int, Series]:
    """_replay runs the event loop until every job has finished or `limit_s`; compiled with C types (engine.pxd).

    Returns when it stopped (s), the integral of waiting containers over time (container-s), the resizes made, and
    the minute series.
    """
    inf = math.inf
    node_mb = cluster.capacity.memory_mb
    total_jobs = len(jobs)
    last_submit_s = jobs[-1].submit_s if jobs else 0.0
    next_job = 0
    next_arrival = jobs[0].submit_s if total_jobs else inf  # the next job's submit time (s), read once per job
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
    while True:
        next_event = cluster.events.head_s()
        t = min(next_event, next_arrival, next_eval_s, next_sample_s)
        if t > limit_s:
            # Bill and count up to the limit itself, not the last event before it.
            if until_s is not None and limit_s > now_s:
                pending_integral += cluster.containers_pending * (limit_s - now_s)
                now_s = limit_s
            break
        pending_integral += cluster.containers_pending * (t - now_s)
        now_s = t
        if next_event <= t:
            cluster.advance(t)
            if cluster.warnings:
                # EC2's warning reaches the policy at once (its own event), not at the next evaluation.
                on_warning = getattr(policy, "on_warning", None)
                for node, _warned_s in cluster.take_warnings():
                    # One warned node at a time: each decision reads the targets the previous one set.
                    for resize in on_warning(cluster, feed, t, node) if on_warning is not None else []:
                        cluster.resize(resize.group, resize.to_count, resize.decommission_timeout_s, t)
                        actions += 1
        while next_arrival <= t:
            cluster.submit(jobs[next_job])
            next_job += 1
            next_arrival = jobs[next_job].submit_s if next_job < total_jobs else inf
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
    return now_s, pending_integral, actions, Series(tuple(times), tuple(billed), tuple(capacity), tuple(demand))
