"""`make demo`'s scenario: the four jobs on the Sandbox, and a fleet cluster short of Spot, telling the story (and the
figures) README.md shows.

How long the scripted hour takes in wall time is printed by bench/timings.py, not asserted here.
"""

from __future__ import annotations

import json

import pytest

from emr_autoscaler_dev.demo import run_demo

pytestmark = pytest.mark.network


def test_demo_shows_the_four_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the scripted hour, WHEN the demo runs with a JSON summary (which draws no plot)
    code = run_demo(minutes=60, json_lines=True, plot=None)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # THEN it scaled out and back in, restarted one step, gave up on another, notified, and nothing failed, with
    # the figures README.md's demo output shows (the simulated clock makes them exact)
    assert code == 0
    assert summary["simulated_minutes"] == 60
    assert summary["resizes"] == {"out": 2, "in": 5}
    assert (summary["peak_nodes"], summary["node_hours"]) == (20, 11.98)
    assert summary["steps"] == {
        "restarted": 1,
        "given_up": 1,
        "reasons": {"RETRY_TRANSIENT_FAILURE": 1, "GIVE_UP_PERMANENT_FAILURE": 1},
    }
    # (the fleet cluster's actions and its Spot fallback's warning included)
    assert summary["notices"] == 17
    assert summary["notices_by_channel"] == {"slack": 4, "sns": 12, "webhook": 1}
    assert summary["handler_errors"] == []
    # AND the fleet cluster, short of Spot for 25 minutes, fell back to On-Demand within its cap (20 units) when EMR
    # said so, asked Spot again and gave the On-Demand units back, and its reclaimed Spot node was replaced once (two
    # decisions: the units asked for ahead, then the target back after the loss)
    fleet = summary["fleet"]
    assert (fleet["fallbacks"], fleet["give_backs"], fleet["replacements"]) == (1, 2, 2)
    assert 0 < fleet["peak_on_demand_units"] <= 20
    assert fleet["final_units"] == {"on_demand": 0, "spot": 16}
