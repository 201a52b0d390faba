"""`emr-autoscaler simulate`: output formats, plot, and bad input reported in one line with exit code 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from emr_autoscaler_dev.sim import command
from emr_autoscaler_dev.sim.trace import load_trace
from tests.unit.sim.builders import FB_TRACE

# The list: every policy object has at least these.
JSON_KEYS = {
    "policy",
    "node_hours",
    "cost_usd",
    "wait_p50_s",
    "wait_p95_s",
    "wait_p99_s",
    "mean_bounded_slowdown",
    "mean_slowdown",
    "p95_slowdown",
    "resize_actions",
    "node_launches",
    "peak_nodes",
    "unfinished_jobs",
    "cost_gap",
    "wait_gap",
}


def test_json_prints_one_object_per_policy(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a one-hour slice and two policies
    argv = ["--trace", str(FB_TRACE), "--hours", "1", "--json", "--policy", "static", "--policy", "managed-like"]

    # WHEN run
    code = command.run(argv)

    # THEN one JSON object per policy, with the documented keys, then the bounds object; progress went to stderr
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["policy"] for r in rows] == ["static", "managed-like", "bounds"]
    assert all(set(r) >= JSON_KEYS for r in rows[:2])
    assert rows[1]["variant"].startswith("managed-like-")
    bounds = rows[2]
    assert set(bounds) >= {"work_node_hours", "zero_delay_node_hours", "frontier"}
    assert bounds["frontier"]
    assert all(set(p) >= {"node_hours", "wait_p95_s"} for p in bounds["frontier"])
    assert all(r["node_hours"] >= bounds["work_node_hours"] for r in rows[:2])
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
    for name in ("autoscaler", "static", "emr-custom-policy", "managed-like", "clairvoyant"):
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
    args = parser.parse_args(["simulate", "--trace", "x.tsv", "--policy", "clairvoyant"])

    # THEN `simulate` parses its options and names its handler
    assert args.func is command.main
    assert args.policy == ["clairvoyant"]


def test_the_old_oracle_name_still_runs_as_clairvoyant(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the policy's old name
    argv = ["--trace", str(FB_TRACE), "--hours", "0.3", "--json", "--policy", "oracle", "--frontier-points", "2"]

    # WHEN run
    code = command.run(argv)

    # THEN it runs under its new name and says so
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out.splitlines()[0])["policy"] == "clairvoyant"
    assert "`oracle` is now called `clairvoyant`" in err


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--scale", "0", "--scale"),
        ("--scale", "-2", "--scale"),
        ("--scale", "nan", "--scale"),
        ("--fit-nodes", "1", "--fit-nodes"),
        ("--until", "0", "--until"),
        ("--until", "-1", "--until"),
        ("--frontier-points", "1", "--frontier-points"),
    ],
)
def test_out_of_range_numbers_exit_2_with_one_line_naming_the_option(
    option: str, value: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a bad value (the default cluster has 2 fixed CORE nodes, so --fit-nodes 1 is too few)
    # WHEN simulated
    code = command.run(["--trace", str(FB_TRACE), "--hours", "0.1", option, value, "--quiet"])

    # THEN exit 2 and one stderr line that names the option, without a traceback
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert named in err
    assert "Traceback" not in err


def test_until_stops_the_run_and_reports_what_is_left(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two hours of jobs, stopped at one hour on a cluster held at its two fixed nodes
    argv = ["--trace", str(FB_TRACE), "--hours", "2", "--until", "1", "--json", "--policy", "static"]
    argv += ["--static-nodes", "2", "--frontier-points", "2", "--quiet"]

    # WHEN run
    code = command.run(argv)

    # THEN the run stopped at the hour, left jobs unfinished with work pending, and billed two nodes for one hour
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    static = rows[0]
    assert static["simulated_hours"] == pytest.approx(1.0)
    assert static["unfinished_jobs"] > 0
    assert static["pending_work_node_hours"] > 0
    assert static["node_hours"] == pytest.approx(2.0, abs=0.01)
    assert rows[-1]["work_node_hours"] == pytest.approx(2.0, abs=0.01)


def test_scale_and_fit_nodes_change_the_work(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one hour of jobs at two scales, and fitted to 20 nodes (the work, not the 2 fixed nodes, then binds)
    def work(*extra: str) -> float:
        argv = ["--trace", str(FB_TRACE), "--hours", "1", "--json", "--policy", "static", "--frontier-points", "2"]
        assert command.run([*argv, "--quiet", *extra]) == 0
        return float(json.loads(capsys.readouterr().out.splitlines()[-1])["work_node_hours"])

    # WHEN run  THEN more data is more work, and fitting to 20 nodes at 60 % gives about 12 node-hours of work over
    # the hour's span (only whole containers and per-container startup keep it from exact)
    assert work("--scale", "20") < work("--scale", "40")
    span_h = max(j.submit_s for j in load_trace(FB_TRACE, hours=1)) / 3600.0
    assert work("--fit-nodes", "20") == pytest.approx(20 * 0.6 * max(1.0, span_h), rel=0.05)


def test_a_trace_too_big_for_the_cluster_is_warned_about_with_the_fit(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN twelve minutes of jobs blown up 100,000-fold (ten node-hours of work), stopped at a tenth of an hour
    argv = ["--trace", str(FB_TRACE), "--hours", "0.2", "--scale", "1e5", "--until", "0.1", "--policy", "static"]

    # WHEN run
    code = command.run([*argv, "--frontier-points", "2", "--quiet"])

    # THEN it runs, and warns with the --fit-nodes that would fit it: a smaller scale than the one given
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: the trace's work" in err
    assert "--fit-nodes 22" in err
    suggested = float(err.split("(--scale ")[1].split(":")[0])
    assert suggested < 1e5
