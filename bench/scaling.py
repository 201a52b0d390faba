"""Scaling benchmark: every policy on the FB-2009 trace and on the synthetic workload, as comparison tables.

    .venv/bin/python bench/scaling.py [--seeds 3] [--plot docs/img/scaling.png] [--config FILE] [--markdown]

Prints, per workload, the table for seed 0, then each policy's spread over `--seeds` seeds (node start jitter),
the wall time, the simulated-to-wall ratio and the process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from emr_autoscaler.kernel.config.document import parse_config_text
from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.engine import RunResult
from emr_autoscaler_dev.sim.plot import plot_runs
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.report import format_markdown, format_table
from emr_autoscaler_dev.sim.run import POLICIES, run_policies
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import JobModel

REPO = Path(__file__).resolve().parents[1]
FB_TRACE = REPO / "data" / "traces" / "FB-2009_samples_24_times_1hr_0.tsv"
SYNTHETIC_SEED = 7


def _spread(runs: dict[str, list[RunResult]]) -> str:
    lines = [f"{'policy':<18}  {'node-hours (min-max)':>22}  {'mean slowdown (min-max)':>24}  {'p95 (min-max)':>16}"]
    for name, results in runs.items():
        nh = [r.node_hours for r in results]
        ms = [r.mean_slowdown for r in results]
        p95 = [r.p95_slowdown for r in results]
        lines.append(
            f"{name:<18}  {min(nh):>10.1f} - {max(nh):<9.1f}  {min(ms):>11.2f} - {max(ms):<10.2f}"
            f"  {min(p95):>7.1f} - {max(p95):<6.1f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per policy for the spread table (default 3)")
    parser.add_argument("--plot", default=str(REPO / "docs" / "img" / "scaling.png"), help="FB-2009 plot path")
    parser.add_argument("--config", help="configuration document for `autoscaler` (default: the defaults)")
    parser.add_argument("--markdown", action="store_true", help="print the seed-0 tables as Markdown")
    args = parser.parse_args()
    policy = ScalingPolicy()
    if args.config:
        policy = parse_config_text(Path(args.config).read_text(encoding="utf-8")).profiles["default"]
    spec = ClusterSpec()
    workloads = {
        "FB-2009 (24 h)": JobModel().jobs(load_trace(FB_TRACE)),
        f"synthetic diurnal/bursty (seed {SYNTHETIC_SEED}, 24 h)": JobModel().jobs(
            SyntheticWorkload().generate(SYNTHETIC_SEED)
        ),
    }
    for label, jobs in workloads.items():
        runs: dict[str, list[RunResult]] = {name: [] for name in POLICIES}
        started = time.perf_counter()
        for seed in range(max(1, args.seeds)):
            for result in run_policies(jobs, POLICIES, policy, spec, seed=seed):
                runs[result.policy].append(result)
        wall = time.perf_counter() - started
        first = [results[0] for results in runs.values()]
        simulated = sum(r.simulated_s for results in runs.values() for r in results)
        print(f"\n## {label}: {len(jobs)} jobs, {spec.instance_type}, seed 0\n")
        print(format_markdown(first) if args.markdown else format_table(first))
        print(f"\nspread over seeds 0-{max(1, args.seeds) - 1}:")
        print(_spread(runs))
        print(
            f"\n{len(POLICIES) * max(1, args.seeds)} runs in {wall:.1f} s; "
            f"{simulated / 3600:.0f} simulated hours, {simulated / wall:,.0f}× real time"
        )
        if label.startswith("FB-2009") and args.plot:
            plot_runs(first, args.plot, f"{label}: YARN demand vs capacity", Bounds.of(policy).max_nodes)
            print(f"plot: {args.plot}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS): {peak_mb:.0f} MB", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
