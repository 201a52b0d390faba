"""`emr-autoscaler simulate`: replay a workload trace through the scaling policies and compare them.

Bad input (a malformed or empty trace, an unreadable file, a configuration that fails validation) is reported on
stderr in one line and exits with 2, without a traceback.
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
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.report import format_json_lines, format_table
from emr_autoscaler_dev.sim.run import POLICIES, run_policies
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import FORMATS, SWIM_FORMAT, TraceError, TraceJob, load_trace
from emr_autoscaler_dev.sim.workload import JobModel

EXIT_OK = 0
EXIT_BAD_INPUT = 2


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
        choices=POLICIES,
        help="policy to run; repeat for several (default: all five)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per policy instead of a table")
    parser.add_argument("--plot", metavar="FILE.png", help="write capacity vs demand over time for every policy")
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


def main(args: argparse.Namespace) -> int:
    """Main runs the `simulate` command from parsed arguments; returns the exit code."""
    try:
        return _simulate(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _simulate(args: argparse.Namespace) -> int:
    if args.hours is not None and args.hours <= 0:
        raise InputError("--hours must be positive")
    policy = _policy(args)
    label, trace = _workload(args)
    spec = ClusterSpec(instance_type=args.instance_type, scheduler=args.scheduler)
    try:
        spec.capacity  # noqa: B018 - validates the instance type before any run
    except ValueError as error:
        raise InputError(str(error)) from None
    if args.static_nodes is not None and args.static_nodes < 0:
        raise InputError("--static-nodes must be >= 0")
    jobs = JobModel().jobs(trace)
    names: Sequence[str] = tuple(dict.fromkeys(args.policy)) if args.policy else POLICIES
    progress = None if args.quiet else _Progress(sys.stderr)
    results = []
    started = time.perf_counter()
    for name in names:
        result = run_policies(
            jobs, [name], policy, spec, seed=args.seed, static_nodes=args.static_nodes, progress=progress
        )[0]
        if progress is not None:
            progress.done(result)
        results.append(result)
    if progress is not None:
        total = time.perf_counter() - started
        print(f"{len(results)} run(s) of {label} in {total:.1f} s", file=sys.stderr)
    if args.json:
        print(format_json_lines(results))
    else:
        bounds = Bounds.of(policy)
        print(
            f"{label}: {len(jobs)} jobs; {spec.instance_type}, CORE {bounds.core_min}-{bounds.core_max}, "
            f"TASK {bounds.task_min}-{bounds.task_max}; {spec.scheduler} scheduler; seed {args.seed}"
        )
        print(format_table(results))
    if args.plot:
        from emr_autoscaler_dev.sim.plot import plot_runs

        try:
            plot_runs(results, args.plot, f"{label}: YARN demand vs capacity", Bounds.of(policy).max_nodes)
        except OSError as error:
            raise InputError(f"{args.plot}: cannot write the plot ({error.strerror or error})") from None
    return EXIT_OK


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
