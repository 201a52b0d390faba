"""`emr-autoscaler`: the operator's command line (configuration, demo, simulator)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from emr_autoscaler.domain.config import ConfigInvalidError, dump_schema, parse_config_text
from emr_autoscaler.sim import command as simulate_command


def _config_validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    try:
        document = parse_config_text(text)
    except ConfigInvalidError as error:
        print(f"{path}: invalid: {error}", file=sys.stderr)
        return 1
    names = ", ".join(sorted(document.profiles))
    print(f"{path}: valid ({len(document.profiles)} profile(s): {names})")
    return 0


def _config_schema(_args: argparse.Namespace) -> int:
    print(dump_schema())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from emr_autoscaler.demo import run_demo

    return run_demo(minutes=args.minutes, json_lines=args.json)


def build_parser() -> argparse.ArgumentParser:
    """Build_parser declares every sub-command."""
    parser = argparse.ArgumentParser(prog="emr-autoscaler", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    config = sub.add_parser("config", help="validate the configuration document or print its JSON Schema")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    validate = config_sub.add_parser("validate", help="validate a YAML/JSON configuration document")
    validate.add_argument("file")
    validate.set_defaults(func=_config_validate)
    schema = config_sub.add_parser("schema", help="print the JSON Schema of the configuration document")
    schema.set_defaults(func=_config_schema)

    demo = sub.add_parser("demo", help="run the scaler on a local AWS against a cluster under changing load")
    demo.add_argument("--minutes", type=int, default=60, help="simulated minutes (default 60)")
    demo.add_argument("--json", action="store_true", help="one JSON decision per line instead of a table")
    demo.set_defaults(func=_demo)

    simulate_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Main runs the command line; returns the exit code (0 ok, 1 invalid input, 2 usage or I/O error)."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
