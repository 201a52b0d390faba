"""Guards: the checks that must all pass before the scaler may act, and the holds they decide.

Order: opt-in, cluster state, a scalable group, groups resizable, metrics present, fresh and coherent. A failing
guard is a hold with its own reason code; never acting on data it cannot trust is the scaler's first rule.

A group that is RESIZING does not hold the cluster: EMR accepts a new count while a resize runs ("you can issue
a resize in the midst of an existing resize operation", https://docs.aws.amazon.com/emr/latest/ManagementGuide/
emr-manage-resize.html, "Interrupting a resize"), and the decision counts its nodes in flight as capacity coming.
A group in any other unsettled state (PROVISIONING, RECONFIGURING, SUSPENDED, ARRESTED, ...) still holds it.
The service's early holds (cluster unknown, no valid configuration, paused) are decided here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emr_autoscaler.kernel.ids import OPT_IN_TAG
from emr_autoscaler.kernel.models import (
    ACTIVE_CLUSTER_STATES,
    ClusterSnapshot,
    GroupRole,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    ReasonCode,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.scaling.domain.planner import Planner

# Memory and vcore totals may disagree with allocated + available by this fraction before metrics are
# called contradictory: YARN reports the three from one snapshot, so a larger gap means a broken source.
_TOTALS_TOLERANCE = 0.05

# Metrics stamped further than this in the future mean a clock or source problem, not fresh data.
_FUTURE_TOLERANCE = timedelta(seconds=60)


def find_contradiction(metrics: YarnMetrics) -> str | None:
    """Return why the metrics cannot all be true at once, or None when they are coherent.

    The RM's totals add up one of two ways, by scheduler: under the CapacityScheduler (EMR's default) `totalMB =
    availableMB + allocatedMB + reservedMB`, under the FairScheduler `totalMB = availableMB + allocatedMB`
    (Hadoop's ClusterMetricsInfo, behind `/ws/v1/cluster/metrics` in "ResourceManager REST API's",
    https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html#Cluster_Metrics_API).
    The scaler does not know the scheduler, so either sum within the tolerance is coherent; without the reserved
    memory a saturated CapacityScheduler cluster holding reservations would look contradictory exactly when it
    must grow.
    """
    if metrics.allocated_memory_mb > metrics.total_memory_mb:
        return f"allocated memory {metrics.allocated_memory_mb} MB exceeds total {metrics.total_memory_mb} MB"
    parts = metrics.allocated_memory_mb + metrics.available_memory_mb
    gap = min(abs(parts - metrics.total_memory_mb), abs(parts + metrics.reserved_memory_mb - metrics.total_memory_mb))
    if gap > _TOTALS_TOLERANCE * max(metrics.total_memory_mb, 1):
        reserved = f" (+ reserved {metrics.reserved_memory_mb} MB)" if metrics.reserved_memory_mb else ""
        return (
            f"allocated {metrics.allocated_memory_mb} MB + available {metrics.available_memory_mb} MB{reserved} "
            f"does not add up to total {metrics.total_memory_mb} MB"
        )
    if (
        metrics.allocated_vcores is not None
        and metrics.total_vcores is not None
        and metrics.allocated_vcores > metrics.total_vcores
    ):
        return f"allocated vcores {metrics.allocated_vcores} exceed total {metrics.total_vcores}"
    if metrics.containers_allocated > 0 and metrics.allocated_memory_mb == 0:
        return f"{metrics.containers_allocated} containers allocated with 0 MB allocated"
    if metrics.total_memory_mb == 0 and metrics.containers_allocated > 0:
        return "containers are allocated on a cluster reporting no YARN memory"
    return None


def check_guards(p: Planner) -> ResizePlan | None:
    """Check_guards runs the safety guards in order, cheapest and most fundamental first; the first that fails
    decides a hold (returned). None means every guard passed: the metrics are present, fresh and coherent."""
    snapshot, metrics, policy, state, now = p.snapshot, p.metrics, p.policy, p.state, p.now
    if not p.check("opted_in", snapshot.opted_in, f"tag {OPT_IN_TAG}={snapshot.tags.get(OPT_IN_TAG, '(absent)')}"):
        return p.plan(
            ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN,
            f"Holding {p.label}: it does not carry the tag {OPT_IN_TAG}=true, so the autoscaler leaves it alone.",
        )
    if not p.check("cluster_active", snapshot.state in ACTIVE_CLUSTER_STATES, f"cluster state {snapshot.state}"):
        return p.plan(
            ReasonCode.HOLD_CLUSTER_NOT_ACTIVE,
            f"Holding {p.label}: it is {snapshot.state}, and only RUNNING or WAITING clusters are resized.",
        )
    scalable = p.scalable_groups()
    if not p.check("scalable_group", bool(scalable), f"{len(scalable)} scalable group(s)"):
        return p.plan(
            ReasonCode.HOLD_NO_SCALABLE_GROUP,
            f"Holding {p.label}: nothing in it may be resized: it has no TASK group or fleet whose scaling is on in "
            "its profile, and CORE scaling is off.",
        )
    stuck = [g for g in snapshot.groups if g.role is not GroupRole.MASTER and not g.settled and not g.resizable]
    detail = ", ".join(f"{g.name} {g.state} {g.running_count}/{g.requested_count}" for g in stuck) or "all resizable"
    if not p.check("groups_resizable", not stuck, detail):
        return p.plan(
            ReasonCode.HOLD_GROUP_NOT_SETTLED,
            f"Holding {p.label}: group(s) {detail} (state/running/requested) are in a state EMR does not resize "
            "from; the scaler waits until they are RUNNING or RESIZING.",
        )
    moving = [g for g in snapshot.groups if g.role is not GroupRole.MASTER and (g.in_flight or g.draining)]
    p.check(
        "capacity_in_flight",
        True,
        ", ".join(f"{g.name} {g.in_flight} starting, {g.draining} draining" for g in moving) or "none",
    )
    # Without trustworthy metrics nobody saw utilization stay low: the stabilization window starts over.
    blind = state.model_copy(update={"low_utilization_since": None})
    if not p.check("metrics_present", metrics is not None, "metrics read" if metrics else "no source answered"):
        return p.plan(
            ReasonCode.HOLD_METRICS_MISSING,
            f"Holding {p.label}: no metrics source answered, and the scaler never acts blind.",
            next_state=blind,
        )
    assert metrics is not None  # narrowed by the check above
    age_s = (now - metrics.observed_at).total_seconds()
    max_age_s = policy.metrics.max_age_s(metrics.source)
    fresh = -_FUTURE_TOLERANCE.total_seconds() <= age_s <= max_age_s
    if not p.check("metrics_fresh", fresh, f"{metrics.source} metrics {age_s:.0f} s old (max {max_age_s} s)"):
        return p.plan(
            ReasonCode.HOLD_METRICS_STALE,
            f"Holding {p.label}: the {metrics.source} metrics are {age_s:.0f} s old (limit {max_age_s} s); "
            "stale data could hide the current load.",
            next_state=blind,
        )
    contradiction = find_contradiction(metrics)
    if not p.check("metrics_coherent", contradiction is None, contradiction or "totals add up"):
        return p.plan(
            ReasonCode.HOLD_METRICS_CONTRADICTORY,
            f"Holding {p.label}: the metrics contradict themselves ({contradiction}).",
            next_state=blind,
        )
    return None


def cooldown_hold(p: Planner, next_state: ScalingState) -> ResizePlan | None:
    until = p.cooldown_until()
    detail = f"cooling down until {until.isoformat()}" if until else "no cooldown running"
    if p.check("cooldown", until is None, detail):
        return None
    assert until is not None
    wait_s = (until - p.now).total_seconds()
    return p.plan(
        ReasonCode.HOLD_COOLDOWN,
        f"Holding {p.label}: the last resize was recent; the cooldown ends in {wait_s:.0f} s.",
        next_state=next_state,
    )


def _unknown_cluster_plan(cluster_id: str, now: datetime, reason: ReasonCode, explanation: str) -> ResizePlan:
    return ResizePlan(
        cluster_id=cluster_id,
        decided_at=now,
        reason=reason,
        explanation=explanation,
        next_state=ScalingState(cluster_id=cluster_id),
    )


def hold_cluster_not_found(cluster_id: str, now: datetime) -> ResizePlan:
    """Hold_cluster_not_found: EMR does not know the cluster id (deleted long ago, or a typo in an alarm)."""
    return _unknown_cluster_plan(
        cluster_id, now, ReasonCode.HOLD_CLUSTER_NOT_FOUND, f"Holding {cluster_id}: EMR does not know it."
    )


def hold_config_invalid(cluster_id: str, now: datetime, error: str) -> ResizePlan:
    """Hold_config_invalid: no valid configuration document was ever read, so no threshold can be trusted."""
    return _unknown_cluster_plan(
        cluster_id,
        now,
        ReasonCode.HOLD_CONFIG_INVALID,
        f"Holding {cluster_id}: no valid configuration has been read yet ({error}).",
    )


def hold_paused(snapshot: ClusterSnapshot, now: datetime, mode_source: str) -> ResizePlan:
    """Hold_paused: the cluster's mode (tag or profile) is `paused`; nothing is read, decided or resized."""
    return _unknown_cluster_plan(
        snapshot.cluster_id,
        now,
        ReasonCode.HOLD_PAUSED,
        f"Holding cluster {snapshot.name!r} ({snapshot.cluster_id}): paused by its {mode_source}; "
        "it is neither evaluated nor resized until the mode changes.",
    )


def hold_cluster_unreadable(snapshot: ClusterSnapshot, state: ScalingState, now: datetime, why: str) -> ResizePlan:
    """Hold_cluster_unreadable: EMR answered, but the scaler cannot read the cluster's capacity (e.g. an API its
    collection type does not support); it holds with a notice once per episode instead of failing every minute."""
    return ResizePlan(
        cluster_id=snapshot.cluster_id,
        decided_at=now,
        reason=ReasonCode.HOLD_CLUSTER_UNREADABLE,
        explanation=f"Holding cluster {snapshot.name!r} ({snapshot.cluster_id}): the scaler cannot read its "
        f"capacity ({why}).",
        next_state=state,
    )
