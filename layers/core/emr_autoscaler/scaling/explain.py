"""`emr-autoscaler explain`: the decision the scaler would take now for one cluster, and why. It never acts."""

from __future__ import annotations

import json
from typing import Any

from emr_autoscaler.scaling.domain.decisions import ResizeInstanceFleet, ResizeInstanceGroup
from emr_autoscaler.scaling.service import Evaluation


def _pins_ams(evaluation: Evaluation) -> bool:
    """True when the evaluated cluster pins ApplicationMasters to a node label."""
    return evaluation.snapshot is not None and evaluation.snapshot.node_labels.am_label is not None


def explanation_dict(evaluation: Evaluation) -> dict[str, Any]:
    """Explanation_dict is the JSON form of an evaluation (`explain --json`)."""
    plan, snapshot, metrics, state = evaluation.plan, evaluation.snapshot, evaluation.metrics, evaluation.state
    return {
        "cluster_id": plan.cluster_id,
        "cluster_name": snapshot.name if snapshot else None,
        "cluster_state": snapshot.state.value if snapshot else None,
        "profile": evaluation.profile,
        "mode": evaluation.mode.value,
        "mode_source": evaluation.mode_source,
        "groups": [g.model_dump(mode="json") for g in snapshot.groups] if snapshot else [],
        "fleets": [f.model_dump(mode="json") for f in snapshot.fleets] if snapshot else [],
        "spot": [m.model_dump(mode="json") for m in state.fleets] if state else [],
        "interruptions": [c.model_dump(mode="json") for c in state.interruptions] if state else [],
        "managed_scaling": evaluation.managed_scaling.model_dump(mode="json") if evaluation.managed_scaling else None,
        "metrics": metrics.model_dump(mode="json") if metrics else None,
        "checks": [c.model_dump(mode="json") for c in plan.checks],
        "reason": plan.reason.value,
        "explanation": plan.explanation,
        "spot_episode": plan.spot.model_dump(mode="json") | {"summary": plan.spot.summary} if plan.spot else None,
        "would_act": plan.acts and evaluation.mode.value == "active",
        "commands": [c.model_dump(mode="json") for c in plan.commands],
        "managed_scaling_change": plan.managed_scaling.model_dump(mode="json") if plan.managed_scaling else None,
    }


def render_text(evaluation: Evaluation) -> str:
    """Render_text is the human table `explain` prints by default."""
    plan, snapshot, metrics = evaluation.plan, evaluation.snapshot, evaluation.metrics
    lines = []
    if snapshot is not None:
        lines.append(f"cluster    {snapshot.name} ({snapshot.cluster_id}), {snapshot.state}")
        lines.append(f"profile    {evaluation.profile}    mode {evaluation.mode} (from {evaluation.mode_source})")
        for group in snapshot.groups:
            lines.append(
                f"group      {group.role:<6} {group.name}: {group.running_count} running / {group.requested_count} "
                f"requested, {group.instance_type}, {group.state}"
            )
        for fleet in snapshot.fleets:
            lines.append(
                f"fleet      {fleet.role:<6} {fleet.name}: On-Demand {fleet.provisioned_on_demand}/"
                f"{fleet.target_on_demand}, Spot {fleet.provisioned_spot}/{fleet.target_spot} units "
                f"(provisioned/target), {fleet.state}"
            )
        if evaluation.managed_scaling is not None:
            policy = evaluation.managed_scaling.describe()
            lines.append(f"managed    {policy} (managed_scaling: {evaluation.managed_scaling_mode})")
        for memory in evaluation.state.fleets if evaluation.state else ():
            short = memory.spot_short_since.isoformat() if memory.spot_short_since else "no"
            lines.append(
                f"spot       {memory.fleet_id}: short since {short}, {memory.fallback_units} On-Demand unit(s) in "
                f"its place, {memory.retry_units} asked of Spot again"
            )
    else:
        lines.append(f"cluster    {plan.cluster_id}")
    if metrics is not None:
        age_s = (plan.decided_at - metrics.observed_at).total_seconds()
        pending_vcores = "?" if metrics.pending_vcores is None else metrics.pending_vcores
        lines.append(
            f"metrics    {metrics.source}, {age_s:.0f} s old: utilization {metrics.utilization_pct:.0f}%, "
            f"pending {metrics.pending_memory_mb} MB / {pending_vcores} vcores / {metrics.containers_pending} "
            f"containers, {metrics.apps_running} app(s) running"
            + (f", {metrics.reserved_memory_mb} MB reserved" if metrics.reserved_memory_mb else "")
            + (f", {metrics.apps_pending} app(s) waiting for an AM" if _pins_ams(evaluation) else "")
        )
    else:
        lines.append("metrics    none read")
    if plan.checks:
        lines.append("checks")
        width = max(len(c.name) for c in plan.checks)
        lines.extend(f"  {'ok  ' if c.passed else 'FAIL'} {c.name:<{width}}  {c.detail}" for c in plan.checks)
    lines.append(f"decision   {plan.reason}")
    lines.append(f"           {plan.explanation}")
    if plan.spot is not None:
        lines.append(f"spot now   {plan.spot.summary}")
    if plan.managed_scaling is not None:
        verb = "would tune" if evaluation.mode.value == "active" else f"would tune, but mode is {evaluation.mode}"
        lines.append(f"action     {verb}: {plan.managed_scaling.describe()}")
    elif plan.commands:
        steps = "; ".join(_step(c) for c in plan.commands)
        verb = "would resize" if evaluation.mode.value == "active" else f"would resize, but mode is {evaluation.mode}"
        lines.append(f"action     {verb}: {steps}")
    else:
        lines.append("action     none")
    return "\n".join(lines)


def _step(command: ResizeInstanceGroup) -> str:
    if isinstance(command, ResizeInstanceFleet):
        return (
            f"{command.group_name} On-Demand {command.from_on_demand} → {command.to_on_demand}, "
            f"Spot {command.from_spot} → {command.to_spot} units"
        )
    return f"{command.group_name} {command.from_count} → {command.to_count}"


def render_json(evaluation: Evaluation) -> str:
    """Render_json is `explain --json`."""
    return json.dumps(explanation_dict(evaluation), indent=2, ensure_ascii=False)
