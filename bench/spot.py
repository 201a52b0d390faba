"""Spot benchmark: a Spot TASK fleet through shortages and interruptions, the fallback against holding.

    .venv/bin/python bench/spot.py [--hours 12] [--seed 7]

Replays the synthetic diurnal/bursty workload (the first `--hours`) with the core's fleet path
(`plan_fleet_resize`, one unit per node, m5.2xlarge) on a cluster whose TASK side is a fleet of Spot and On-Demand
nodes: Spot runs at 40 % of the On-Demand price, has no capacity in two windows of two hours (hours 2-4 and 7-9),
and reclaims running Spot nodes at 0.05 per node-hour, each with EC2's two-minute warning (the scaler replaces a
warned node's units at once where the cluster needs them, `plan_interruption`). Rows: `fallback` (the defaults: Spot
short for 15 min falls back to On-Demand within `max_on_demand_units`, given back 30 min later once Spot delivers),
`no warning` (the same without EC2's warning: a reclaimed node is only replenished by EMR after the loss), `hold`
(the defaults with `fleets.spot.fallback: false`: the scaler waits for Spot), `no shortage` (the same Spot market
without the windows), and `on-demand only` (the TASK fleet grows On-Demand only, cap = max: what Spot saves).
`often reclaimed` and its `no warning` are `fallback` and `no warning` at 0.2 interruptions per Spot node-hour.
`replaced` counts the interruptions replaced in advance. A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import ClusterSpec
from emr_autoscaler_dev.sim.engine import simulate
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.workload import JobModel

HOUR = 3600.0


def _policy(**fleets: object) -> ScalingPolicy:
    # TASK limits as the scaling benchmark's groups (0..20 nodes), one unit per node; at most 10 On-Demand.
    task = {"min_units": 0, "max_units": 20, "max_on_demand_units": 10, **fleets.pop("task", {})}  # type: ignore[dict-item]
    return ScalingPolicy.model_validate({"fleets": {"task": task, **fleets}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=12.0, help="hours of the synthetic workload (default 12)")
    parser.add_argument("--seed", type=int, default=7, help="workload seed (default 7)")
    args = parser.parse_args()
    jobs = JobModel().jobs(SyntheticWorkload(hours=args.hours).generate(args.seed))
    short = ((2 * HOUR, 4 * HOUR), (7 * HOUR, 9 * HOUR))
    spot = ClusterSpec(spot_task=True, spot_short=short, spot_interruptions_per_node_hour=0.05)
    runs = {
        "fallback": (_policy(), spot),
        "no warning": (_policy(), replace(spot, spot_warning_s=0.0)),
        "hold": (_policy(spot={"fallback": False}), spot),
        "no shortage": (_policy(), replace(spot, spot_short=())),
        "on-demand only": (_policy(task={"grow_market": "on_demand", "max_on_demand_units": 20}), spot),
        # Spot reclaimed four times as often: the warnings find room more often, and fleets.spot.reclaimed_limit
        # (3 within an hour) turns growth On-Demand first.
        "often reclaimed": (_policy(), replace(spot, spot_interruptions_per_node_hour=0.2)),
        "  no warning": (_policy(), replace(spot, spot_interruptions_per_node_hour=0.2, spot_warning_s=0.0)),
    }
    print(
        f"{len(jobs)} jobs, {args.hours:g} h, m5.2xlarge, Spot short {short[0][0] / HOUR:g}-{short[0][1] / HOUR:g} h "
        f"and {short[1][0] / HOUR:g}-{short[1][1] / HOUR:g} h, 0.05 interruptions per Spot node-hour "
        f"(EC2 warns {spot.spot_warning_s:g} s ahead)\n"
    )
    header = (
        f"{'run':<15} {'cost USD':>9} {'OD node-h':>10} {'Spot node-h':>12} {'wait p50 s':>11} {'wait p95 s':>11} "
        f"{'mean bsld':>10} {'interrupted':>12} {'replaced':>9} {'killed':>7} {'fallbacks':>10} {'wall s':>7}"
    )
    print(header)
    for name, (policy, spec) in runs.items():
        started = time.perf_counter()
        scaler = AutoscalerPolicy(policy)
        result = simulate(jobs, scaler, spec, Bounds.of(policy), seed=0)
        od_h, spot_h = result.node_hours - result.spot_node_hours, result.spot_node_hours
        fallbacks = sum(n for reason, n in scaler.reasons.items() if reason.value == "SCALE_SPOT_FALLBACK")
        replaced = scaler.replaced_in_advance
        print(
            f"{name:<15} {result.cost_usd:>9.2f} {od_h:>10.1f} {spot_h:>12.1f} {result.wait_p50_s:>11.0f} "
            f"{result.wait_p95_s:>11.0f} {result.mean_bounded_slowdown:>10.2f} {result.interrupted_nodes:>12} "
            f"{replaced:>9} {result.killed_containers:>7} {fallbacks:>10} {time.perf_counter() - started:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
