"""`emr-autoscaler`: the operator's command line (configuration, demo, simulator)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from emr_autoscaler.kernel.config.document import ConfigInvalidError, dump_schema, parse_config_text
from emr_autoscaler_dev.sim import command as simulate_command


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
    from emr_autoscaler_dev.demo import run_demo

    return run_demo(minutes=args.minutes, json_lines=args.json, plot=None if args.no_plot else Path(args.plot))


def _explain(args: argparse.Namespace) -> int:
    import os

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from emr_autoscaler.bootstrap import build_scaler, utcnow
    from emr_autoscaler.scaling.explain import render_json, render_text
    from emr_autoscaler.settings import Settings, SettingsError

    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    try:
        settings = Settings.from_env()
        scaler = build_scaler(settings, session=boto3.Session(region_name=args.region))
        evaluation = scaler.evaluate(args.cluster_id, utcnow())
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS refused or could not be reached: {error}", file=sys.stderr)
        return 2
    print(render_json(evaluation) if args.json else render_text(evaluation))
    return 0


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

    demo = sub.add_parser("demo", help="run the whole app on the local sandbox through a scripted hour")
    demo.add_argument("--minutes", type=int, default=60, help="simulated minutes (default 60)")
    demo.add_argument("--json", action="store_true", help="print only the summary, as JSON")
    demo.add_argument("--plot", default="out/demo.png", help="where to write capacity vs demand (PNG)")
    demo.add_argument("--no-plot", action="store_true", help="skip the PNG")
    demo.set_defaults(func=_demo)

    explain = sub.add_parser(
        "explain", help="print the decision the scaler would take now for a cluster, and why (never acts)"
    )
    explain.add_argument("--cluster-id", required=True)
    explain.add_argument("--region", default=None, help="AWS region (default: your AWS configuration)")
    explain.add_argument("--endpoint-url", default=None, help="AWS endpoint (a local AWS such as moto server)")
    explain.add_argument("--json", action="store_true", help="JSON instead of the table")
    explain.set_defaults(func=_explain)

    simulate_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Main runs the command line; returns the exit code (0 ok, 1 invalid input, 2 usage or I/O error)."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
