"""`emr-autoscaler simulate`: placeholder until the simulator lands."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register adds the `simulate` sub-command to the CLI."""
    parser = subparsers.add_parser("simulate", help="replay a workload trace through the scaling policies")
    parser.set_defaults(func=lambda _args: 2)
