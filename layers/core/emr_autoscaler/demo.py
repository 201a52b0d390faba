"""`make demo`: the scaler against a local AWS (moto server) and a cluster whose YARN load changes over an hour.

What is real: the scaler's composition root, every adapter (EMR, DynamoDB, SSM through Powertools Parameters, the
ResourceManager over HTTP), the trigger parsing and the pure core. What stands in: moto for AWS (it resizes a
group at once, with no start delay) and an emulated ResourceManager whose load follows a script. Time is a
simulated clock, one tick per minute, as the EventBridge schedule would fire.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from emr_autoscaler.bootstrap import build_cluster_watch, build_scaler
from emr_autoscaler.events import ScheduledTick
from emr_autoscaler.observability import logger
from emr_autoscaler.sandbox.local_aws import LocalAws
from emr_autoscaler.sandbox.provision import create_cluster, provision
from emr_autoscaler.sandbox.yarn import YarnResourceManagerEmulator, cluster_metrics
from emr_autoscaler.service import handle_trigger
from emr_autoscaler.settings import Settings

NODE_MEMORY_MB = 12288  # m5.xlarge under EMR's YARN defaults
NODE_VCORES = 4


@dataclass(frozen=True)
class LoadPhase:
    """LoadPhase: from `start_min` on, YARN is asked for `demand_mb` of memory by `apps` applications."""

    start_min: int
    demand_mb: int
    apps: int
    label: str


SCRIPT = (
    LoadPhase(0, 30_000, 3, "steady load"),
    LoadPhase(5, 160_000, 12, "nightly batch arrives: demand spikes"),
    LoadPhase(22, 8_000, 1, "batch done: a trickle remains"),
    LoadPhase(55, 0, 0, "cluster idle"),
)


def _phase(minute: int) -> LoadPhase:
    return [p for p in SCRIPT if p.start_min <= minute][-1]


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _nodes(emr: Any, cluster_id: str) -> dict[str, int]:
    groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    return {g["InstanceGroupType"]: int(g["RunningInstanceCount"]) for g in groups}


def run_demo(minutes: int = 60, json_lines: bool = False) -> int:
    """Run_demo plays the load script for `minutes` simulated minutes and prints each decision."""
    config_text = resources.files("emr_autoscaler").joinpath("defaults/demo.yaml").read_text(encoding="utf-8")
    # The demo prints its own table: keep the library's JSON logs and moto's request log out of it.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logger.setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    settings = Settings(config_parameter="/emr-autoscaler-demo/config", state_table="emr-autoscaler-demo-state")
    out = sys.stdout
    with LocalAws() as aws, YarnResourceManagerEmulator() as yarn:
        session = aws.session()
        provision(session, settings, config_text)
        emr = aws.client("emr")
        cluster_id = create_cluster(emr, name="etl-nightly", core=2, task=2)
        clock = _Clock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
        scaler = build_scaler(settings, session=session, clock=clock, resourcemanager_url_for=lambda _s: yarn.url)
        # The cluster watch registers the cluster and creates its alarms, as its RUNNING state change would.
        watched = build_cluster_watch(settings, session=session, clock=clock).on_state_change(cluster_id, "RUNNING")
        if not json_lines:
            print(f"local AWS at {aws.endpoint_url}; YARN ResourceManager emulator at {yarn.url}", file=out)
            print(f"cluster {cluster_id} 'etl-nightly': CORE 2 + TASK 2 x m5.xlarge; TASK may grow to 20", file=out)
            print(f"cluster watch: {watched.action}, {len(watched.alarms_put)} alarms created\n", file=out)
            print(
                f"{'time':>5}  {'core':>4} {'task':>4}  {'demand MB':>9} {'mem%':>5} {'pending MB':>10}  decision",
                file=out,
            )
        phase: LoadPhase | None = None
        for minute in range(minutes):
            clock.now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC) + timedelta(minutes=minute)
            current = _phase(minute)
            if current is not phase:
                phase = current
                if not json_lines:
                    print(f"{'':>5}  -- {phase.label} --", file=out)
            nodes = _nodes(emr, cluster_id)
            body = cluster_metrics(
                nodes=nodes.get("CORE", 0) + nodes.get("TASK", 0),
                node_memory_mb=NODE_MEMORY_MB,
                node_vcores=NODE_VCORES,
                demand_memory_mb=current.demand_mb,
                apps_running=current.apps,
            )
            yarn.set_body(body)
            summary = handle_trigger(ScheduledTick(event_id=f"demo-{minute}"), scaler, settings.max_concurrency)
            decision = summary["decisions"][0]
            m = body["clusterMetrics"]
            used = 100 * m["allocatedMB"] / m["totalMB"] if m["totalMB"] else 0.0
            if json_lines:
                print(json.dumps({"minute": minute, "nodes": nodes, **decision}), file=out)
                continue
            print(
                f"{clock.now:%H:%M}  {nodes.get('CORE', 0):>4} {nodes.get('TASK', 0):>4}  {current.demand_mb:>9} "
                f"{used:>5.0f} {m['pendingMB']:>10}  {decision['reason']}",
                file=out,
            )
            if decision["outcome"] == "applied" or (decision["reason"] != "HOLD_STEADY" and minute % 5 == 0):
                print(f"{'':>5}  {decision['explanation']}", file=out)
        final = _nodes(emr, cluster_id)
        if not json_lines:
            print(f"\nend: CORE {final.get('CORE', 0)}, TASK {final.get('TASK', 0)}", file=out)
    return 0
