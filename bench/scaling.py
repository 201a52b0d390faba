"""Scaling benchmark: every policy on FB-2009 sample 0 and on the synthetic workload, against the bound and frontier.

    .venv/bin/python bench/scaling.py [--seeds 1] [--plot docs/img/scaling.png] [--config FILE] [--markdown]

Prints, per workload, the table for seed 0 (every policy's cost, per-job waits, bounded slowdown and gaps to
the frontier, then each managed-like variant's own row), the bound, the zero-delay reference and the frontier;
with `--seeds N`, each policy's spread over N seeds (node start jitter). The same figures, one JSON object per
policy: `emr-autoscaler simulate --trace FILE --json`. Speed figures: `bench/sim_speed.py`.
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
from emr_autoscaler_dev.sim.report import format_bounds, format_markdown, format_table
from emr_autoscaler_dev.sim.run import POLICIES, run_benchmark, run_policies
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import JobModel

REPO = Path(__file__).resolve().parents[1]
FB_TRACE = REPO / "data" / "traces" / "FB-2009_samples_24_times_1hr_0.tsv"
SYNTHETIC_SEED = 7


def _spread(runs: dict[str, list[RunResult]]) -> str:
    lines = [f"{'policy':<18}  {'node-hours (min-max)':>22}  {'wait p95 s (min-max)':>22}  {'mean bsld (min-max)':>20}"]
    for name, results in runs.items():
        nh = [r.node_hours for r in results]
        p95 = [r.wait_p95_s for r in results]
        bsld = [r.mean_bounded_slowdown for r in results]
        lines.append(
            f"{name:<18}  {min(nh):>10.1f} - {max(nh):<9.1f}  {min(p95):>10.0f} - {max(p95):<9.0f}"
            f"  {min(bsld):>8.2f} - {max(bsld):<8.2f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1, help="seeds per policy for the spread table (default 1)")
    parser.add_argument("--plot", default=str(REPO / "docs" / "img" / "scaling.png"), help="FB-2009 plot path")
    parser.add_argument("--config", help="configuration document for `autoscaler` (default: the defaults)")
    parser.add_argument("--markdown", action="store_true", help="print the seed-0 tables as Markdown")
    args = parser.parse_args()
    policy = ScalingPolicy()
    if args.config:
        policy = parse_config_text(Path(args.config).read_text(encoding="utf-8")).profiles["default"]
    spec = ClusterSpec()
    workloads = {
        "FB-2009 sample 0 (24 h)": JobModel().jobs(load_trace(FB_TRACE)),
        f"synthetic diurnal/bursty (seed {SYNTHETIC_SEED}, 24 h)": JobModel().jobs(
            SyntheticWorkload().generate(SYNTHETIC_SEED)
        ),
    }
    for label, jobs in workloads.items():
        started = time.perf_counter()
        print(f"\n## {label}: {len(jobs)} jobs, {spec.instance_type}, seed 0\n", flush=True)
        benchmark = run_benchmark(jobs, POLICIES, policy, spec, seed=0, variants=True)
        results = list(benchmark.results)
        print(format_markdown(results) if args.markdown else format_table(results))
        print(format_bounds(benchmark))
        if args.seeds > 1:
            runs: dict[str, list[RunResult]] = {name: [] for name in POLICIES}
            for seed in range(args.seeds):
                for result in run_policies(jobs, POLICIES, policy, spec, seed=seed):
                    runs[result.policy].append(result)
            print(f"\nspread over seeds 0-{args.seeds - 1}:")
            print(_spread(runs))
        print(f"\n{label}: {time.perf_counter() - started:.0f} s of wall time, frontier sweep included")
        if label.startswith("FB-2009") and args.plot:
            headline = [r for r in results if not r.policy.startswith("managed-like-")]
            plot_runs(
                headline,
                args.plot,
                f"{label}: cost/wait frontier, YARN demand vs capacity",
                Bounds.of(policy).max_nodes,
                benchmark,
            )
            print(f"plot: {args.plot}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS): {peak_mb:.0f} MB", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
