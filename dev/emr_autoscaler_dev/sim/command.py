"""`emr-autoscaler simulate`: replay a workload trace through the scaling policies and compare them.

Bad input (a malformed or empty trace, an unreadable file, a configuration that fails validation, a `--scale`,
`--fit-nodes`, `--until` or `--frontier-points` out of range) is reported on stderr in one line naming the option
or the place, and exits with 2, without a traceback.

Every run also measures the bound (`work_node_hours`), the zero-delay reference and the cost/wait frontier, and
states each policy's gaps to it (`sim/frontier.py`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from emr_autoscaler.kernel.config.document import ConfigInvalidError, parse_config_text
from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import SCHEDULERS, ClusterSpec
from emr_autoscaler_dev.sim.engine import RunResult
from emr_autoscaler_dev.sim.frontier import work_node_hours
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.report import format_bounds, format_json_lines, format_table
from emr_autoscaler_dev.sim.run import ALIASES, POLICIES, VARIANT_NAMES, fit_scale, run_benchmark
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import FORMATS, SWIM_FORMAT, TraceError, TraceJob, load_trace
from emr_autoscaler_dev.sim.workload import Job, JobModel

EXIT_OK = 0
EXIT_BAD_INPUT = 2
DEFAULT_FIT_UTILIZATION = 0.6


class InputError(ValueError):
    """InputError is bad input the command reports in one line and exits 2 for."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add_arguments declares the `simulate` options on a parser."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--trace", metavar="FILE", help="workload trace to replay (SWIM format)")
    source.add_argument(
        "--synthetic", metavar="SEED", type=int, help="replay the generated diurnal/bursty workload for SEED instead"
    )
    parser.add_argument("--format", choices=FORMATS, default=SWIM_FORMAT, help="trace format (default: swim)")
    parser.add_argument("--hours", type=float, help="replay only the jobs submitted in the first HOURS hours")
    parser.add_argument("--config", metavar="FILE", help="configuration document for `autoscaler` (YAML/JSON)")
    parser.add_argument("--profile", help="profile of the configuration document (default: its defaults)")
    parser.add_argument(
        "--policy",
        action="append",
        choices=(*POLICIES, *VARIANT_NAMES, *ALIASES),
        help="policy to run; repeat for several (default: all five; `oracle` is the old name of `clairvoyant`)",
    )
    parser.add_argument(
        "--variants", action="store_true", help="also print each managed-like variant's row (the headline is one)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per policy and one for the bounds, not a table"
    )
    parser.add_argument(
        "--plot", metavar="FILE.png", help="write the cost/wait frontier and capacity vs demand for every policy"
    )
    parser.add_argument("--scale", type=float, metavar="F", help="multiply every job's data sizes by F (SWIM's way)")
    parser.add_argument(
        "--fit-nodes",
        type=int,
        metavar="N",
        help=f"pick the --scale at which the day's work fills N nodes at --fit-utilization (default "
        f"{DEFAULT_FIT_UTILIZATION:g})",
    )
    parser.add_argument(
        "--fit-utilization", type=float, default=DEFAULT_FIT_UTILIZATION, metavar="U", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--until", type=float, metavar="HOURS", help="stop every run at HOURS; report unfinished jobs and work"
    )
    parser.add_argument(
        "--frontier-points",
        type=int,
        default=5,
        metavar="N",
        help="static sizes and clairvoyant caps the frontier sweeps, each (default 5, at least 2)",
    )
    parser.add_argument(
        "--am-memory-mb",
        type=int,
        default=6144,
        metavar="MB",
        help="ApplicationMaster container per job (default 6144, EMR's m5.2xlarge default; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for node start jitter (default: 0)")
    parser.add_argument("--instance-type", default="m5.2xlarge", help="CORE and TASK instance type")
    parser.add_argument("--static-nodes", type=int, help="size of the `static` cluster (default: the largest)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="fair", help="YARN ordering (default: fair)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register adds the `simulate` sub-command to the CLI."""
    parser = subparsers.add_parser(
        "simulate",
        help="replay a workload trace through the scaling policies",
        description="Replay a workload trace on a simulated EMR cluster under each scaling policy and compare.",
    )
    add_arguments(parser)
    parser.set_defaults(func=main)


def _policy(args: argparse.Namespace) -> ScalingPolicy:
    if args.config is None:
        return ScalingPolicy()
    try:
        text = Path(args.config).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{args.config}: cannot read the configuration ({error.strerror or error})") from None
    try:
        document = parse_config_text(text)
    except ConfigInvalidError as error:
        raise InputError(f"{args.config}: invalid configuration: {error}") from None
    name, policy, unknown = document.policy_for(args.profile)
    if unknown:
        raise InputError(f"{args.config}: no profile {args.profile!r} (known: {', '.join(sorted(document.profiles))})")
    del name
    return policy


def _validate(args: argparse.Namespace, bounds: Bounds) -> None:
    """Reject out-of-range numbers before any run, one line naming the option."""
    if args.hours is not None and not args.hours > 0:
        raise InputError("--hours must be positive")
    if args.scale is not None and not (args.scale > 0 and args.scale != float("inf")):
        raise InputError(f"--scale must be a positive number, not {args.scale:g}")
    if args.scale is not None and args.fit_nodes is not None:
        raise InputError("--scale and --fit-nodes both set the scale: give one")
    if args.fit_nodes is not None and args.fit_nodes < max(1, bounds.min_nodes):
        raise InputError(
            f"--fit-nodes must be at least the cluster's {bounds.min_nodes} fixed nodes, not {args.fit_nodes}"
        )
    if not 0 < args.fit_utilization <= 1:
        raise InputError(f"--fit-utilization must be in (0, 1], not {args.fit_utilization:g}")
    if args.until is not None and not (args.until > 0 and args.until != float("inf")):
        raise InputError(f"--until must be a positive number of hours, not {args.until:g}")
    if args.frontier_points < 2:
        raise InputError(f"--frontier-points must be at least 2, not {args.frontier_points}")
    if args.am_memory_mb < 0:
        raise InputError(f"--am-memory-mb must be >= 0, not {args.am_memory_mb}")
    if args.static_nodes is not None and args.static_nodes < 0:
        raise InputError("--static-nodes must be >= 0")


def _workload(args: argparse.Namespace) -> tuple[str, list[TraceJob]]:
    if args.synthetic is not None:
        workload = SyntheticWorkload(hours=args.hours if args.hours is not None else 24.0)
        return f"synthetic workload (seed {args.synthetic})", workload.generate(args.synthetic)
    try:
        return Path(args.trace).name, load_trace(args.trace, args.format, args.hours)
    except TraceError as error:
        raise InputError(str(error)) from None


class _Progress:
    """_Progress writes one line per policy to stderr, rewritten in place each simulated hour on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, policy: str, now_s: float, last_submit_s: float) -> None:
        if self.tty:
            self.stream.write(f"\rsimulating {policy}: {now_s / 3600:.0f} of {last_submit_s / 3600:.0f} h")
            self.stream.flush()

    def done(self, result: RunResult) -> None:
        ratio = result.simulated_s / result.wall_s if result.wall_s else float("inf")
        prefix = "\r" if self.tty else ""
        self.stream.write(
            f"{prefix}simulated {result.policy}: {result.simulated_s / 3600:.1f} h in {result.wall_s:.2f} s "
            f"({ratio:,.0f}× real time)\n"
        )
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(("\r" if self.tty else "") + text + "\n")
        self.stream.flush()


def main(args: argparse.Namespace) -> int:
    """Main runs the `simulate` command from parsed arguments; returns the exit code."""
    try:
        return _simulate(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _policy_names(args: argparse.Namespace, progress: _Progress | None) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(args.policy)) if args.policy else POLICIES
    for old, new in ALIASES.items():
        if old in names and progress is not None:
            progress.note(f"note: `{old}` is now called `{new}` (it is a reference, not a bound)")
    return tuple(dict.fromkeys(ALIASES.get(n, n) for n in names))


def _simulate(args: argparse.Namespace) -> int:
    policy = _policy(args)
    bounds = Bounds.of(policy)
    _validate(args, bounds)
    label, trace = _workload(args)
    spec = ClusterSpec(instance_type=args.instance_type, scheduler=args.scheduler)
    try:
        spec.capacity  # noqa: B018 - validates the instance type before any run
    except ValueError as error:
        raise InputError(str(error)) from None
    progress = None if args.quiet else _Progress(sys.stderr)
    model = JobModel(am_memory_mb=args.am_memory_mb)
    if args.fit_nodes is not None:
        scale = fit_scale(trace, model, spec, args.fit_nodes, args.fit_utilization)
        label += f", scaled ×{scale:.3g} to fill {args.fit_nodes} nodes at {args.fit_utilization:.0%}"
        model = JobModel(am_memory_mb=args.am_memory_mb, scale=scale)
    elif args.scale is not None:
        label += f", scaled ×{args.scale:g}"
        model = JobModel(am_memory_mb=args.am_memory_mb, scale=args.scale)
    jobs = model.jobs(trace)
    until_s = None if args.until is None else args.until * 3600.0
    _warn_if_unfit(jobs, trace, model, spec, bounds, until_s, args.fit_utilization)
    names = _policy_names(args, progress)
    started = time.perf_counter()
    sweep_runs = 0

    def on_result(result: RunResult) -> None:
        nonlocal sweep_runs
        if progress is None:
            return
        if result.policy.startswith(("static ", "clairvoyant cap")):
            sweep_runs += 1
            progress(f"frontier sweep ({sweep_runs} runs)", result.simulated_s, result.simulated_s)
        else:
            progress.done(result)

    benchmark = run_benchmark(
        jobs,
        names,
        policy,
        spec,
        seed=args.seed,
        static_nodes=args.static_nodes,
        until_s=until_s,
        frontier_points=args.frontier_points,
        progress=progress,
        on_result=on_result,
        variants=args.variants,
    )
    results = list(benchmark.results)
    if progress is not None:
        total = time.perf_counter() - started
        progress.note(f"{len(results)} policies and {sweep_runs} frontier runs of {label} in {total:.1f} s")
    if args.json:
        print(format_json_lines(results, benchmark))
    else:
        horizon = "" if until_s is None else f"; stopped at {args.until:g} h"
        print(
            f"{label}: {len(jobs)} jobs; {spec.instance_type}, CORE {bounds.core_min}-{bounds.core_max}, "
            f"TASK {bounds.task_min}-{bounds.task_max}; {spec.scheduler} scheduler; AM {model.am_memory_mb} MB; "
            f"seed {args.seed}{horizon}"
        )
        print(format_table(results))
        print(format_bounds(benchmark))
    if args.plot:
        from emr_autoscaler_dev.sim.plot import plot_runs

        try:
            plot_runs(
                results, args.plot, f"{label}: cost/wait frontier, YARN demand vs capacity", bounds.max_nodes, benchmark
            )
        except OSError as error:
            raise InputError(f"{args.plot}: cannot write the plot ({error.strerror or error})") from None
    return EXIT_OK


def _warn_if_unfit(
    jobs: Sequence[Job],
    trace: Sequence[TraceJob],
    model: JobModel,
    spec: ClusterSpec,
    bounds: Bounds,
    until_s: float | None,
    utilization: float,
) -> None:
    """Warn, on stderr, when the work cannot fit the largest cluster within the horizon, and what would fit it."""
    span_s = until_s if until_s is not None else max(3600.0, max(j.submit_s for j in jobs))
    work = work_node_hours(jobs, spec.capacity, bounds)
    room = bounds.max_nodes * span_s / 3600.0
    if work <= room:
        return
    scale = fit_scale(trace, model, spec, bounds.max_nodes, utilization, span_s)
    print(
        f"warning: the trace's work ({work:,.0f} node-hours) cannot fit {bounds.max_nodes} nodes within "
        f"{span_s / 3600:.1f} h ({room:,.0f} node-hours); --fit-nodes {bounds.max_nodes} would fit it "
        f"(--scale {scale:.3g}: {utilization:.0%} mean utilization over that span)",
        file=sys.stderr,
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Run parses `simulate` arguments (without the sub-command name) and runs it; for tests and scripts."""
    parser = argparse.ArgumentParser(prog="emr-autoscaler simulate")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return main(args)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
