"""The compiled simulator core (Cython, from the same source) places every container as the Python one does.

`make test` builds the extensions first (`make sim`). The Python modules run in a child process with
EMR_AUTOSCALER_SIM_PURE=1; this process runs the extensions. Every figure of every scenario must match exactly.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim import cluster, compiled, engine, heaps, waiting
from emr_autoscaler_dev.sim.cluster import ClusterSpec, SimCluster
from emr_autoscaler_dev.sim.engine import RunResult, simulate
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize
from emr_autoscaler_dev.sim.run import run_policies
from emr_autoscaler_dev.sim.synthetic import SyntheticWorkload
from emr_autoscaler_dev.sim.trace import load_trace
from emr_autoscaler_dev.sim.workload import JobModel
from tests.unit.sim.builders import FB_TRACE, REPO, SMALL_NODE


def scenarios() -> dict[str, list[dict[str, object]]]:
    """Scenarios runs the code paths of the scheduler: fair and FIFO, AMs on CORE, drains and kills, Spot."""
    fb = JobModel().jobs(load_trace(FB_TRACE))[:500]  # its first two hours or so
    synthetic = JobModel().jobs(SyntheticWorkload(jobs_per_hour=60.0).generate(3))[:150]
    config = ScalingPolicy()
    runs: dict[str, list[dict[str, object]]] = {}
    cases = (
        ("fair", fb, ["autoscaler", "static", "emr-custom-policy", "managed-like"], ClusterSpec()),
        ("fifo, AMs on CORE", fb, ["autoscaler", "clairvoyant"], ClusterSpec(scheduler="fifo", am_label="CORE")),
    )
    for label, jobs, names, spec in cases:
        runs[label] = [_figures(r) for r in run_policies(jobs, names, config, spec, variants=True)]
    # Shrinks that time out: running containers and AMs are killed and asked for again.
    seesaw = simulate(fb, _Seesaw(), ClusterSpec(), Bounds.of(config), seed=0)
    runs["kills"] = [_figures(seesaw)]
    spot_config = ScalingPolicy.model_validate(
        {"fleets": {"task": {"max_units": 12, "max_on_demand_units": 6}, "spot": {"fallback": True}}}
    )
    spot_spec = replace(
        ClusterSpec(instance_type="m5.xlarge", node_capacity=SMALL_NODE),
        spot_task=True,
        spot_short=((1800.0, 3600.0),),
        spot_interruptions_per_node_hour=0.5,
    )
    spot = simulate(synthetic, AutoscalerPolicy(spot_config), spot_spec, Bounds.of(spot_config), seed=0)
    runs["spot"] = [_figures(spot)]
    return runs


class _Seesaw:
    """_Seesaw swings TASK between 1 and 12 nodes every 10 minutes and gives a shrink only 30 s to drain."""

    name = "seesaw"
    interval_s = 600.0

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        return bounds.core_min, 12

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        to_count = 1 if int(now_s // self.interval_s) % 2 else 12
        return [GroupResize(cluster.task, to_count, decommission_timeout_s=30.0)]


def _figures(result: RunResult) -> dict[str, object]:
    """Every figure of a run but its wall time, with its minute series and its Spot counts."""
    figures = result.figures()
    figures.pop("wall_s")
    figures["billed_nodes"] = list(result.series.billed_nodes)
    figures["demand_nodes"] = list(result.series.demand_nodes)
    figures["spot_node_hours"] = result.spot_node_hours
    figures["interrupted_nodes"] = result.interrupted_nodes
    return figures


def test_the_compiled_core_is_built_current_and_loaded() -> None:
    # GIVEN `make test`, which builds the extensions before the tests
    # THEN an import loads them (not stale, not missing), the speed bench/sim_speed.py reports is this core's
    assert compiled.pure_reason() is None, compiled.status()
    for module in (heaps, cluster, waiting, engine):
        assert str(module.__file__).endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), module.__file__
    assert compiled.status() == "compiled"


def test_the_compiled_and_the_python_core_give_the_same_figures() -> None:
    # GIVEN the Python core in a child process
    env = {**os.environ, compiled.PURE_ENV: "1"}
    child = subprocess.run(
        [sys.executable, "-m", "tests.unit.sim.test_compiled"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    pure = json.loads(child.stdout)
    # WHEN the compiled core runs the same scenarios here
    compiled_runs = json.loads(json.dumps(scenarios()))
    # THEN every figure of every policy and variant is the same, and the scenarios did reach kills and Spot reclaims
    assert pure["core"].startswith("pure Python")
    assert compiled_runs.keys() == pure["runs"].keys()
    for label, rows in compiled_runs.items():
        assert rows == pure["runs"][label], label
    assert compiled_runs["kills"][0]["killed_containers"]
    assert compiled_runs["spot"][0]["interrupted_nodes"] > 0


def test_a_changed_source_makes_the_extensions_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the built extensions, current
    assert compiled.pure_reason() is None
    # WHEN the digest of the sources no longer matches the build's stamp
    monkeypatch.setattr(compiled, "source_digest", lambda: "another")
    # THEN an import would load the Python modules, and says why
    reason = compiled.pure_reason()
    assert reason is not None
    assert "stale" in reason
    monkeypatch.setenv(compiled.PURE_ENV, "1")
    assert compiled.pure_reason() == f"{compiled.PURE_ENV} is set"


if __name__ == "__main__":
    from emr_autoscaler_dev.sim import compiled as core

    print(json.dumps({"core": core.status(), "runs": scenarios()}))
