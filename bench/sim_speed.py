"""Simulator speed: one run per policy on FB-2009 sample 0, and on a 25,000-job day on a 300-node cluster.

    .venv/bin/python bench/sim_speed.py [--skip-big] [--policy NAME]...

Targets (issue 12): FB-2009 sample 0 in at most 2 s per policy, the 25,000-job day (synthetic, fitted with
`--fit-nodes 300` at 60 % mean utilization, CORE 2 fixed, TASK 0-298) in at most 20 s per policy, one core.
`make bench` times the compiled core (dev/emr_autoscaler_dev/sim/compiled.py); `EMR_AUTOSCALER_SIM_PURE=1` times
the pure-Python one.
Prints each run's CPU time (what the target is judged on: one core, whatever else the machine runs), its wall
time, the simulated-to-CPU ratio, and the process's peak memory after each workload. Wall times are noisy on a
shared machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

from emr_autoscaler.kernel.config.scaling import GroupLimits, GroupsConfig, ScalingPolicy
from emr_autoscaler_dev.sim import compiled
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.policies.managed import VARIANTS
from emr_autoscaler_dev.sim.run import POLICIES, fit_scale, run_policies, zero_delay_run
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import Job, JobModel

REPO = Path(__file__).resolve().parents[1]
FB_TRACE = REPO / "data" / "traces" / "FB-2009_samples_24_times_1hr_0.tsv"
FB_TARGET_S = 2.0
BIG_TARGET_S = 20.0
BIG_JOBS = 25_000
BIG_NODES = 300
BIG_HOURS = 24.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time(
    label: str, jobs: list[Job], names: list[str], config: ScalingPolicy, target_s: float, until_s: float | None = None
) -> None:
    spec = ClusterSpec()
    bounds = Bounds.of(config)
    print(f"\n## {label}: {len(jobs):,} jobs, TASK max {bounds.task_max}; target <= {target_s:g} s per policy")
    print(f"{'policy':<28}  {'CPU s':>7}  {'wall s':>7}  {'simulated h':>11}  {'x real time':>11}  target")

    def row(name: str, cpu: float, wall: float, simulated: float) -> None:
        verdict = "met" if cpu <= target_s else "MISSED"
        print(
            f"{name:<28}  {cpu:>7.2f}  {wall:>7.2f}  {simulated / 3600:>11.1f}  {simulated / cpu:>11,.0f}  {verdict}",
            flush=True,
        )

    cpu, wall = time.process_time(), time.perf_counter()
    # The clairvoyant policy's schedule comes from the zero-delay replay: timed as its own row, then reused.
    zero, schedule = zero_delay_run(jobs, spec, bounds, 0, until_s)
    row(zero.policy, time.process_time() - cpu, time.perf_counter() - wall, zero.simulated_s)
    for name in names:
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_policies(jobs, [name], config, spec, schedule=schedule, until_s=until_s)[0]
        row(name, time.process_time() - cpu, time.perf_counter() - wall, result.simulated_s)
    print(f"peak memory (max RSS) so far: {_peak_mb():.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-big", action="store_true", help="only FB-2009 sample 0")
    parser.add_argument("--policy", action="append", help="policy to time (default: every policy and variant)")
    args = parser.parse_args()
    names = args.policy or [n for n in POLICIES if n != "managed-like"] + [v.name for v in VARIANTS]
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    # `make bench` builds the compiled core first; EMR_AUTOSCALER_SIM_PURE=1 times the Python one.
    print(f"simulator core: {compiled.status()}")
    _time("FB-2009 sample 0", JobModel().jobs(load_trace(FB_TRACE)), names, ScalingPolicy(), FB_TARGET_S)
    if not args.skip_big:
        config = ScalingPolicy(groups=GroupsConfig(task=GroupLimits(min_nodes=0, max_nodes=BIG_NODES - 2)))
        per_hour = (BIG_JOBS - 0.2 * 24 * 40) / 24.0  # the bursts add about 0.2 x 24 x 40 jobs
        trace = SyntheticWorkload(jobs_per_hour=per_hour).generate(11)
        scale = fit_scale(trace, JobModel(), ClusterSpec(), BIG_NODES, 0.6)
        jobs = replace(JobModel(), scale=scale).jobs(trace)
        # The target is for 24 simulated hours: a policy whose backlog outlasts the day stops there.
        label = f"synthetic day fitted to {BIG_NODES} nodes (scale {scale:.3g}), 24 simulated hours"
        _time(label, jobs, names, config, BIG_TARGET_S, until_s=BIG_HOURS * 3600.0)
    print(f"\nload average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
