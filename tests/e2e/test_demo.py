"""`make demo`'s scenario: the four jobs on the Sandbox, within a minute of wall time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emr_autoscaler_dev.demo import run_demo

pytestmark = pytest.mark.network


def test_demo_shows_the_four_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the scripted hour, WHEN the demo runs with a JSON summary
    code = run_demo(minutes=60, json_lines=True, plot=tmp_path / "demo.png")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # THEN it scaled out and back in, restarted one step, gave up on another, notified, and nothing failed
    assert code == 0
    assert summary["resizes"]["out"] >= 1
    assert summary["resizes"]["in"] >= 1
    assert summary["steps"]["restarted"] == 1
    assert summary["steps"]["given_up"] == 1
    assert summary["notices"] > 0
    assert summary["handler_errors"] == []
    assert summary["wall_s"] < 60
