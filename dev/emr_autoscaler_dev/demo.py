"""`make demo`: the whole application on the Sandbox, one scripted hour of a nightly pipeline.

The four jobs, through the template's own rules and each function's own environment, on a local AWS (moto) with
EMR's missing behaviours emulated: a load spike scales the cluster out (the new nodes take 6 minutes to start),
a step fails with a transient reason and is restarted after its backoff with the steps it cancelled, another fails
permanently and the channels get the notice, the load falls and the cluster scales back in. Beside it, an
instance-fleet cluster (`etl-spot`, a TASK fleet on Spot) grows while EC2 has no Spot capacity for 25 minutes: the
scaler falls back to On-Demand within the cap, asks Spot again 30 minutes later and gives the On-Demand units back
once Spot delivers; one of its Spot nodes is reclaimed on the way and replaced before it goes. One line per
decision, action and notice; a summary at the end; a PNG of capacity vs demand.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from emr_autoscaler.adapters.powertools.logging import logger as app_logger
from emr_autoscaler_dev.sandbox.sandbox import Invocation, Sandbox
from emr_autoscaler_dev.sandbox.sink import ReceivedMessage

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
    LoadPhase(24, 8_000, 1, "batch done: a trickle remains"),
    LoadPhase(50, 0, 0, "cluster idle"),
)
STEPS = ("ingest-events", "aggregate-daily", "publish-report")
# EMR says only "Unknown Error." for a Spark step whose executor's Spot node was reclaimed; YARN's diagnostics of
# the step's application tell the node was lost (the text Spark and YARN print, see kernel/config/steps.py).
LOST_NODE = (
    "User class threw exception: org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage "
    "2.0 failed 4 times, most recent failure: Lost task 3.3 in stage 2.0 (TID 45) (ip-10-0-1-12.ec2.internal executor "
    "7): ExecutorLostFailure (executor 7 exited caused by one of the running tasks) Reason: Container marked as "
    "failed: container_1772589600000_0007_01_000008 on host: ip-10-0-1-12.ec2.internal. Exit status: -100. "
    "Diagnostics: Container released on a *lost* node."
)
# The fleet cluster's script: its load from minute 1, EC2 without Spot capacity from then for SPOT_SHORT_MIN
# minutes, one of its Spot nodes reclaimed at INTERRUPT_MIN.
FLEET_DEMAND_MB = 40_000
SPOT_SHORT_MIN = 25
INTERRUPT_MIN = 38
PERMANENT = ("java.lang.ClassNotFoundException: com.example.jobs.AggregateDaily", "the jar lacks the main class")


def _phase(minute: int) -> LoadPhase:
    return [p for p in SCRIPT if p.start_min <= minute][-1]


def _title(message: ReceivedMessage) -> str:
    body = message.json()
    if isinstance(body, dict):
        for path in (("text",), ("title",), ("summary",)):
            value = body.get(path[0])
            if isinstance(value, str) and value:
                return value.splitlines()[0][:110]
        attachments = body.get("attachments") or []
        if attachments:
            card = (attachments[0] or {}).get("content", {})
            for block in card.get("body", []):
                if isinstance(block, dict) and block.get("text"):
                    return str(block["text"]).splitlines()[0][:110]
    return message.body[:110].decode("utf-8", "replace")


class _View:
    """_View prints one line per decision, action and notice as they happen."""

    def __init__(self, sandbox: Sandbox, out: TextIO) -> None:
        self.sandbox = sandbox
        self.out = out
        self.seen_invocations = 0
        self.seen_notifications = 0
        self.seen_sns = 0
        self.last_reason: dict[str, str] = {}
        self.cluster_id: str | None = None
        self.seen_steps: set[str] = set()

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def flush(self) -> None:
        sandbox = self.sandbox
        for invocation in sandbox.invocations[self.seen_invocations :]:
            self._invocation(invocation)
        self.seen_invocations = len(sandbox.invocations)
        for message in sandbox.notifications[self.seen_notifications :]:
            channel = message.path.strip("/").replace("/", " ")
            self.line(f"{sandbox.now:%H:%M} NOTICE   {channel:<24} {_title(message)}")
        self.seen_notifications = len(sandbox.notifications)
        sns = sandbox.sns_messages()
        for sent in sns[self.seen_sns :]:
            topic = str(sent["topic"]).rsplit(":", 1)[-1]
            self.line(f"{sandbox.now:%H:%M} NOTICE   sns {topic:<20} {sent['subject']}")
        self.seen_sns = len(sns)
        if self.cluster_id is not None:
            steps = sandbox.steps(self.cluster_id)
            added = [s for s in steps if s["Id"] not in self.seen_steps]
            if added and self.seen_steps:
                names = ", ".join(f"{s['Name']} ({s['Status']['State']})" for s in added)
                self.line(f"{sandbox.now:%H:%M} EMR      steps added: {names}")
            self.seen_steps.update(s["Id"] for s in steps)

    def _invocation(self, invocation: Invocation) -> None:
        at = f"{invocation.at:%H:%M}"
        if invocation.error is not None:
            self.line(f"{at} ERROR    {invocation.function}: {invocation.error}")
            return
        result = invocation.result if isinstance(invocation.result, dict) else {}
        if invocation.function == "ScalerFunction":
            for decision in result.get("decisions", []):
                reason = decision["reason"]
                changed = self.last_reason.get(decision["cluster_id"]) != reason
                self.last_reason[decision["cluster_id"]] = reason
                if decision["outcome"] != "held" or changed:
                    self.line(f"{at} SCALER   {reason:<28} {decision['explanation']}")
        elif invocation.function == "StepRetryFunction":
            outcomes = result.get("outcomes") or result.get("results") or [result]
            for outcome in outcomes if isinstance(outcomes, list) else [outcomes]:
                if isinstance(outcome, dict) and outcome.get("reason"):
                    self.line(f"{at} STEPS    {outcome['reason']:<28} {outcome.get('explanation', '')}")
        elif invocation.function == "ClusterWatchFunction":
            for watched in result.get("results", []):
                if watched.get("action") in ("registered", "unregistered") or watched.get("alarms_put"):
                    self.line(f"{at} WATCH    {watched['action']:<28} {watched['cluster_id']}: {watched['detail']}")


def _plot(history: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [h["minute"] for h in history]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.fill_between(
        minutes, [h["demand_nodes"] for h in history], step="post", alpha=0.3, color="tab:orange", label="YARN demand"
    )
    ax.step(minutes, [h["running"] for h in history], where="post", color="tab:blue", label="running nodes")
    ax.step(
        minutes, [h["requested"] for h in history], where="post", color="tab:blue", linestyle="--", label="requested"
    )
    ax.set_xlabel("simulated minutes")
    ax.set_ylabel("nodes (CORE + TASK, m5.xlarge)")
    ax.set_title("EMR Autoscaler demo: capacity vs demand")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_demo(minutes: int = 60, json_lines: bool = False, plot: Path | None = Path("out/demo.png")) -> int:
    """Run_demo plays the script for `minutes` simulated minutes; returns 0 when every job did its part."""
    started = time.perf_counter()
    out = sys.stdout
    # Library warnings (an empty metrics flush, Powertools' idempotency notes) would interleave with the view.
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools")
    app_logger.setLevel(logging.WARNING)
    config = resources.files("emr_autoscaler_dev").joinpath("defaults/demo.yaml").read_text(encoding="utf-8")
    with Sandbox(on_line=lambda text: print(text, file=out, flush=True) if not json_lines else None) as sandbox:
        topic = sandbox.client("sns").create_topic(Name="emr-autoscaler-ops-email")["TopicArn"]
        sandbox.set_config(config.replace("arn:aws:sns:eu-west-1:123456789012:emr-autoscaler-ops-email", topic))
        view = _View(sandbox, out)
        view.line(f"local AWS {sandbox.aws.endpoint_url}; webhook sink {sandbox.sink.url('/')}")
        view.line(f"functions from template.yaml: {', '.join(sandbox.functions)}")
        cluster_id = sandbox.create_cluster(name="etl-nightly", core=2, task=2)
        fleet_cluster_id = sandbox.create_cluster(name="etl-spot", core=2, task=2, collection="fleet")
        view.flush()
        view.cluster_id = cluster_id
        history: list[dict[str, Any]] = []
        step_ids: list[str] = []
        phase: LoadPhase | None = None

        def script(minute: int) -> None:
            nonlocal phase, step_ids
            current = _phase(minute)
            if current is not phase:
                phase = current
                view.line(f"{sandbox.now:%H:%M} -------- {current.label}")
                sandbox.set_yarn(cluster_id, demand_mb=current.demand_mb, apps=current.apps)
            if minute == 1:
                sandbox.starve_spot(fleet_cluster_id, SPOT_SHORT_MIN)
                sandbox.set_yarn(fleet_cluster_id, demand_mb=FLEET_DEMAND_MB, apps=4)
            if minute == INTERRUPT_MIN:
                sandbox.interrupt_spot(fleet_cluster_id, 1)
            if minute == 3:
                step_ids = sandbox.add_steps(cluster_id, *STEPS)
            if minute == 8:
                sandbox.fail_step(cluster_id, step_ids[0], "Unknown Error.", diagnostics=LOST_NODE)
            if minute == 16:
                _complete_retry(sandbox, cluster_id, view)
            if minute == 20:
                _fail_requeued(sandbox, cluster_id, STEPS[1], view)

        fleet_on_demand: list[int] = []

        def record(minute: int) -> None:
            fleet_on_demand.append(int(sandbox.fleet(fleet_cluster_id)["TargetOnDemandCapacity"]))
            nodes = sandbox.nodes(cluster_id)
            metrics = sandbox.yarn_metrics(cluster_id)
            demand_mb = metrics["allocatedMB"] + metrics["pendingMB"]
            demand_vcores = metrics["allocatedVirtualCores"] + metrics["pendingVirtualCores"]
            history.append(
                {
                    "minute": minute,
                    "running": nodes["CORE"][0] + nodes["TASK"][0],
                    "requested": nodes["CORE"][1] + nodes["TASK"][1],
                    # Nodes the demand needs, memory or vcores, whichever binds (as the scaler sizes it).
                    "demand_nodes": max(demand_mb / NODE_MEMORY_MB, demand_vcores / NODE_VCORES),
                }
            )

        for minute in range(1, minutes + 1):
            sandbox.advance(1, each_minute=script)
            view.flush()
            record(minute)
        summary = _summary(sandbox, cluster_id, history, time.perf_counter() - started)
        summary["fleet"] = _fleet_summary(sandbox, fleet_cluster_id, fleet_on_demand)
        if json_lines:
            print(json.dumps(summary), file=out)
        else:
            _print_summary(summary, view)
            if plot is not None and history:
                view.line(f"\ncapacity vs demand: {_plot(history, plot).resolve()}")
        ok = (
            summary["resizes"]["out"] > 0
            and summary["resizes"]["in"] > 0
            and summary["steps"]["restarted"] > 0
            and summary["steps"]["given_up"] > 0
            and summary["notices"] > 0
            and not summary["handler_errors"]
            and summary["fleet"]["fallbacks"] > 0
            and summary["fleet"]["replacements"] > 0
        )
    return 0 if ok else 1


def _complete_retry(sandbox: Sandbox, cluster_id: str, view: _View) -> None:
    for step in sandbox.steps(cluster_id):
        if "(retry" in step["Name"] and step["Status"]["State"] == "PENDING":
            sandbox.complete_step(cluster_id, step["Id"])
            view.line(f"{sandbox.now:%H:%M} EMR      step {step['Name']} COMPLETED")


def _fail_requeued(sandbox: Sandbox, cluster_id: str, name: str, view: _View) -> None:
    pending = [s for s in sandbox.steps(cluster_id) if s["Name"] == name and s["Status"]["State"] == "PENDING"]
    if pending:
        sandbox.fail_step(cluster_id, pending[-1]["Id"], *PERMANENT)
    else:
        view.line(f"{sandbox.now:%H:%M} EMR      no re-queued {name} step to fail (was it re-queued?)")


def _summary(sandbox: Sandbox, cluster_id: str, history: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    decisions = [d for d in sandbox.decisions if d["cluster_id"] == cluster_id]
    reasons = Counter(d["reason"] for d in decisions)
    step_reasons: Counter[str] = Counter()
    for invocation in sandbox.invocations:
        if invocation.function == "StepRetryFunction" and isinstance(invocation.result, dict):
            outcomes = invocation.result.get("outcomes") or invocation.result.get("results") or [invocation.result]
            for outcome in outcomes if isinstance(outcomes, list) else [outcomes]:
                if isinstance(outcome, dict) and outcome.get("reason"):
                    step_reasons[str(outcome["reason"])] += 1
    restarted = sum(1 for s in sandbox.steps(cluster_id) if "(retry " in s["Name"])
    channels = Counter(m.path.strip("/").split("/")[0] for m in sandbox.notifications)
    channels.update({"sns": len(sandbox.sns_messages())})
    node_minutes = sum(h["running"] for h in history)
    return {
        "simulated_minutes": len(history),
        "wall_s": round(wall_s, 1),
        "decisions": dict(reasons),
        "resizes": {
            "out": sum(1 for d in decisions if d["reason"].startswith("SCALE_OUT") and d["outcome"] == "applied"),
            "in": sum(1 for d in decisions if d["reason"].startswith("SCALE_IN") and d["outcome"] == "applied"),
        },
        "peak_nodes": max((h["running"] for h in history), default=0),
        "node_hours": round(node_minutes / 60, 2),
        "steps": {
            "restarted": restarted,
            "given_up": sum(n for r, n in step_reasons.items() if r.startswith("GIVE_UP")),
            "reasons": dict(step_reasons),
        },
        "notices": sum(channels.values()),
        "notices_by_channel": dict(channels),
        "handler_errors": [f"{f.function}: {f.error}" for f in sandbox.failures],
    }


def _fleet_summary(sandbox: Sandbox, cluster_id: str, on_demand: list[int]) -> dict[str, Any]:
    decisions = [d for d in sandbox.decisions if d["cluster_id"] == cluster_id and d["outcome"] == "applied"]
    reasons = Counter(d["reason"] for d in decisions)
    task = sandbox.fleet(cluster_id)
    return {
        "scale_outs": reasons["SCALE_OUT_PENDING_DEMAND"],
        "fallbacks": reasons["SCALE_SPOT_FALLBACK"],
        "give_backs": reasons["SCALE_SPOT_GIVE_BACK"],
        # The advance replacement and, after the loss, the target back: two decisions per interruption.
        "replacements": reasons["SCALE_REPLACE_INTERRUPTED"],
        "peak_on_demand_units": max(on_demand, default=0),
        "final_units": {"on_demand": task["TargetOnDemandCapacity"], "spot": task["TargetSpotCapacity"]},
    }


def _print_summary(summary: dict[str, Any], view: _View) -> None:
    view.line("\n== summary ==")
    view.line(
        f"{summary['simulated_minutes']} simulated minutes in {summary['wall_s']} s wall; "
        f"peak {summary['peak_nodes']} nodes, {summary['node_hours']} node-hours"
    )
    view.line(f"scaling: {summary['resizes']['out']} scale-out(s), {summary['resizes']['in']} scale-in(s)")
    view.line("decisions by reason: " + ", ".join(f"{r} {n}" for r, n in sorted(summary["decisions"].items())))
    steps = summary["steps"]
    view.line(f"steps: {steps['restarted']} restarted, {steps['given_up']} given up ({steps['reasons']})")
    view.line(
        f"notices: {summary['notices']} ("
        + ", ".join(f"{c} {n}" for c, n in sorted(summary["notices_by_channel"].items()))
        + ")"
    )
    fleet = summary["fleet"]
    view.line(
        f"fleet etl-spot: {fleet['scale_outs']} scale-out(s), {fleet['fallbacks']} Spot fallback(s) (On-Demand peak "
        f"{fleet['peak_on_demand_units']} units), {fleet['give_backs']} give-back step(s), "
        f"{fleet['replacements']} interruption decision(s); ends at On-Demand {fleet['final_units']['on_demand']} / "
        f"Spot {fleet['final_units']['spot']} units"
    )
    errors = summary["handler_errors"]
    view.line(f"handler errors: {len(errors)}" + (f" {errors}" if errors else ""))
