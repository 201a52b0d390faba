"""plan_resize: the scaling policy. Pure: the snapshot, metrics, policy, prior state and `now` come in; a plan goes out.

The guards run in a fixed order, cheapest and most fundamental first (opt-in, cluster state, groups settled,
metrics present, fresh and coherent); the first that fails decides a hold. Only then is demand read:
pending demand scales out (never in), sustained low utilization scales in after the stabilization window.
"""

from __future__ import annotations

from datetime import datetime

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, YarnMetrics
from emr_autoscaler.scaling.domain.decisions import ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.guards import check_guards
from emr_autoscaler.scaling.domain.labels import am_placement, labels_detail
from emr_autoscaler.scaling.domain.learn import learn
from emr_autoscaler.scaling.domain.limits import plan_to_limits
from emr_autoscaler.scaling.domain.planner import Planner
from emr_autoscaler.scaling.domain.scale_in import plan_scale_in
from emr_autoscaler.scaling.domain.scale_out import plan_scale_out


def plan_resize(
    snapshot: ClusterSnapshot,
    metrics: YarnMetrics | None,
    policy: ScalingPolicy,
    state: ScalingState,
    now: datetime,
) -> ResizePlan:
    """Plan_resize decides how to resize one cluster's instance groups now, and why.

    Invariants: targets stay within each group's [min_nodes, max_nodes]; one action changes a group by at most its
    step budget (an idle cluster's empty nodes excepted); nothing scales in while YARN has pending demand or from a
    group still resizing; nothing acts on missing, stale or contradictory metrics, on a group EMR cannot resize now,
    during a cooldown, or on a cluster that is not RUNNING/WAITING or has not opted in.
    """
    p = Planner(snapshot, metrics, policy, state, now)

    held = check_guards(p)
    if held is not None:
        return held
    assert metrics is not None  # check_guards holds on missing metrics
    scalable = p.scalable_groups()
    p.state = learn(
        p.state,
        metrics,
        sum(g.in_flight for g in scalable),
        now,
        policy.scale_out.start_delay_s,
        policy.scale_in.peak_memory_s,
    )
    labels = snapshot.node_labels
    if labels.am_label is not None or labels.unreadable is not None:
        p.am = am_placement(snapshot, metrics, policy)
        p.check("node_labels", labels.unreadable is None, labels_detail(snapshot, policy))
    to_limits = plan_to_limits(p, metrics, scalable)
    if to_limits is not None:
        return to_limits
    if metrics.demand_pending or (p.am is not None and p.am.waiting_mb > 0):
        return plan_scale_out(p, metrics, scalable)
    return plan_scale_in(p, metrics, scalable)
