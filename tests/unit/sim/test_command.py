"""`emr-autoscaler simulate`: output formats, plot, and bad input reported in one line with exit code 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from emr_autoscaler_dev.sim import command
from tests.unit.sim.builders import FB_TRACE

JSON_KEYS = {
    "policy",
    "node_hours",
    "pending_container_hours",
    "mean_slowdown",
    "p95_slowdown",
    "resize_actions",
    "peak_nodes",
}


def test_json_prints_one_object_per_policy(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a one-hour slice and two policies
    argv = ["--trace", str(FB_TRACE), "--hours", "1", "--json", "--policy", "static", "--policy", "managed-like"]

    # WHEN run
    code = command.run(argv)

    # THEN one JSON object per policy, with the documented keys, and progress went to stderr
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["policy"] for r in rows] == ["static", "managed-like"]
    assert all(set(r) >= JSON_KEYS for r in rows)
    assert "simulated static" in err


def test_the_default_is_a_table_of_all_five_policies_and_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a short slice and a plot path
    plot = tmp_path / "scaling.png"

    # WHEN run without --policy
    code = command.run(["--trace", str(FB_TRACE), "--hours", "0.5", "--plot", str(plot), "--quiet"])

    # THEN the table lists the five policies and the plot is a PNG
    out = capsys.readouterr().out
    assert code == 0
    for name in ("autoscaler", "static", "emr-custom-policy", "managed-like", "oracle"):
        assert f"\n{name} " in out
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_a_malformed_trace_names_line_and_column_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a trace whose third line has a bad shuffle size
    trace = tmp_path / "bad.tsv"
    trace.write_text("job0\t1\t1\t10\t0\t0\njob1\t2\t1\t10\t0\t0\njob2\t3\t1\t10\tmany\t0\n")

    # WHEN simulated
    code = command.run(["--trace", str(trace), "--quiet"])

    # THEN one error line names line 3, column 5, without a traceback
    err = capsys.readouterr().err
    assert code == 2
    assert "line 3, column 5" in err
    assert "Traceback" not in err


def test_an_empty_trace_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an empty trace file
    trace = tmp_path / "empty.tsv"
    trace.write_text("")

    # WHEN simulated  THEN it is an error
    assert command.run(["--trace", str(trace), "--quiet"]) == 2
    assert "no job" in capsys.readouterr().err


def test_an_invalid_config_is_reported_as_the_validator_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a configuration with a negative cooldown
    config = tmp_path / "bad.yaml"
    config.write_text("defaults:\n  scale_in:\n    cooldown_s: -5\n")

    # WHEN simulated with it
    code = command.run(["--trace", str(FB_TRACE), "--hours", "0.1", "--config", str(config), "--quiet"])

    # THEN exit 2, and the message names the field
    assert code == 2
    assert "defaults.scale_in.cooldown_s" in capsys.readouterr().err


def test_register_adds_the_simulate_subcommand() -> None:
    # GIVEN the CLI's sub-parsers
    parser = argparse.ArgumentParser(prog="emr-autoscaler")
    subparsers = parser.add_subparsers(dest="command")

    # WHEN the simulator registers
    command.register(subparsers)
    args = parser.parse_args(["simulate", "--trace", "x.tsv", "--policy", "oracle"])

    # THEN `simulate` parses its options and names its handler
    assert args.func is command.main
    assert args.policy == ["oracle"]
