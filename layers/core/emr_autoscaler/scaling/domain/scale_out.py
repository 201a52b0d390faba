"""Scale-out: add nodes for the demand that will still wait when they start, less the capacity already coming.

Pending memory (or vcores, whichever needs more nodes) is first discounted by how fast this cluster's backlogs
have drained (`learn.expected_waiting_mb`, as far as `drain_trust_pct` believes it): seconds-long containers clear
long before a node started now would join, and adding nodes for them is pure waste. Nodes already in flight
(requested, not yet running, in any group) count as capacity coming. What remains, plus `headroom_pct`, is added
to the groups in order, each within its step budget (`Planner.out_budget`) and its max_nodes, also to a group
that is still resizing: EMR accepts a new count during a resize.
"""

from __future__ import annotations

import math

from emr_autoscaler.kernel.config.scaling import NodeCapacity
from emr_autoscaler.kernel.models import (
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
)
from emr_autoscaler.scaling.domain.guards import cooldown_hold
from emr_autoscaler.scaling.domain.labels import carries_label
from emr_autoscaler.scaling.domain.learn import expected_waiting_mb, start_delay_s
from emr_autoscaler.scaling.domain.planner import Planner

# A backlog expected to leave less than this share of one node's memory waiting is expected to clear by itself.
_RESIDUE = 0.25


def grow_command(group: InstanceGroupCapacity, add: int) -> ResizeInstanceGroup:
    """Grow_command asks EMR for `add` more nodes in a group, from the count the decision saw."""
    return ResizeInstanceGroup(
        group_id=group.group_id,
        group_name=group.name,
        role=group.role,
        from_count=group.requested_count,
        to_count=group.requested_count + add,
    )


def _running(groups: list[InstanceGroupCapacity], group_id: str) -> int:
    return next((g.running_count for g in groups if g.group_id == group_id), 0)


def plan_scale_out(p: Planner, metrics: YarnMetrics, scalable: list[InstanceGroupCapacity]) -> ResizePlan:
    # Demand interrupts any stabilization window: utilization was not sustainedly low.
    next_state = p.state.model_copy(update={"low_utilization_since": None})
    held = cooldown_hold(p, next_state)
    if held is not None:
        return held
    need_mb = metrics.waiting_memory_mb
    need_vcores = metrics.pending_vcores or 0
    if need_mb == 0 and need_vcores == 0:
        # Pending containers without pending resources (CloudWatch reports counts only): size by the count.
        need_mb = metrics.containers_pending * p.policy.metrics.estimated_container_memory_mb
    # Pending ApplicationMasters pinned to a node label wait for room on the groups that carry it (see labels.py).
    am = p.am if p.am is not None and p.am.waiting_mb > 0 else None
    out = p.policy.scale_out
    delay_s = start_delay_s(p.state, out.start_delay_s)
    waiting_mb = expected_waiting_mb(p.state, need_mb, delay_s, out.drain_trust_pct)
    share = waiting_mb / need_mb if need_mb else 1.0
    kept = p.state.backlog_kept
    learned = "learned" if p.state.start_delay_s is not None else "configured"
    p.check(
        "drain_estimate",
        True,
        f"{need_mb} MB pending, {waiting_mb:.0f} MB expected still waiting after the {delay_s:.0f} s start delay "
        f"({learned}; backlog kept {'unknown' if kept is None else f'{kept:.0%}'} per minute, "
        f"drain trust {out.drain_trust_pct:.0f}%)",
    )
    capacities = [(g, c) for g in scalable if (c := p.node_capacity(g, metrics)) is not None]
    carriers = {g.group_id for g, _ in capacities if am is not None and carries_label(p.snapshot, g, am.label)}
    drained = waiting_mb < need_mb  # the drain estimate discounted something (history, and trust above 0)
    if drained and capacities and waiting_mb < _RESIDUE * min(c.memory_mb for _, c in capacities):
        # What the drain leaves is a sliver of a node: the backlog is expected to clear by itself.
        waiting_mb = 0.0
        share = 0.0
    headroom = 1.0 + out.headroom_pct / 100.0
    want_mb = waiting_mb * headroom
    want_vcores = need_vcores * share * headroom
    # AMs are not discounted by the drain: they wait on their label until it has room, however fast executors drain.
    want_am_mb = am.waiting_mb * headroom if am is not None else 0.0
    coming_nodes = sum(g.in_flight for g in scalable)
    capacity_known = bool(capacities)
    for group, capacity in capacities:
        coming_mb = float(group.in_flight * capacity.memory_mb)
        if group.group_id in carriers:
            for_ams = min(coming_mb, max(want_am_mb, 0.0))
            want_am_mb -= for_ams
            coming_mb -= for_ams
        want_mb -= coming_mb
        want_vcores -= group.in_flight * capacity.vcores
    demand = (
        f"{metrics.containers_pending} pending container(s) need {metrics.pending_memory_mb} MB"
        + (f" and {metrics.pending_vcores} vcores" if metrics.pending_vcores else "")
        + (" (estimated)" if metrics.pending_estimated else "")
        + (
            f", {metrics.reserved_memory_mb} MB reserved for containers that do not fit yet"
            if metrics.reserved_memory_mb
            else ""
        )
        + (f"; {am.detail}" if am is not None else "")
    )
    if not p.check("node_capacity_known", capacity_known, "node capacity from config, YARN or EMR defaults"):
        return p.plan(
            ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
            f"Holding {p.label}: {demand}, but one node's YARN capacity is unknown for its instance types; "
            "set node_capacity in the configuration.",
            next_state=next_state,
        )
    expected = (
        f"about {waiting_mb:.0f} MB of it is expected to still wait when a node started now joins (~{delay_s:.0f} s)"
    )
    if want_mb <= 0 and want_vcores <= 0 and want_am_mb <= 0:
        if coming_nodes and (waiting_mb > 0 or need_vcores * share > 0 or am is not None):
            return p.plan(
                ReasonCode.HOLD_CAPACITY_IN_FLIGHT,
                f"Holding {p.label}: {demand}; {expected}, and the {coming_nodes} node(s) already starting "
                "will cover it.",
                next_state=next_state,
            )
        return p.plan(
            ReasonCode.HOLD_DEMAND_DRAINING,
            f"Holding {p.label}: {demand}, but this cluster's backlogs have been draining fast; {expected}, "
            "so new nodes would arrive after the work is done.",
            next_state=next_state,
        )
    growth = _Growth(p)
    for group, capacity in capacities:
        if group.group_id not in carriers or want_am_mb <= 0:
            continue
        want_am_mb -= growth.add(group, capacity, want_am_mb, 0.0) * capacity.memory_mb
        if want_am_mb < 0:
            # A label's nodes also run executors (EMR's CORE partition is non-exclusive): what the AMs leave counts.
            want_mb += want_am_mb
            want_am_mb = 0.0
    for group, capacity in capacities:
        if want_mb <= 0 and want_vcores <= 0:
            break
        added = growth.add(group, capacity, want_mb, want_vcores)
        want_mb -= added * capacity.memory_mb
        want_vcores -= added * capacity.vcores
    commands = [grow_command(g, growth.added[g.group_id]) for g, _ in capacities if growth.added.get(g.group_id)]
    stranded = (
        f"; {want_am_mb:.0f} MB of pending AMs wait for {am.label} nodes, and no scalable group carries that label"
        if am is not None and want_am_mb > 0 and not carriers
        else ""
    )
    if am is not None and not carriers and not commands:
        p.check("label_scalable", False, f"no scalable group carries {am.label}")
        return p.plan(
            ReasonCode.HOLD_AM_LABEL_NOT_SCALABLE,
            f"Holding {p.label}: {demand}; those AMs can only start on {am.label} nodes, and no group this profile "
            f"scales carries {am.label} (for CORE, set groups.core.scalable: true), so adding TASK nodes would not "
            "start them.",
            next_state=next_state,
        )
    if not p.check("below_max", bool(commands), "room below max_nodes" if commands else "every group at max_nodes"):
        return p.plan(
            ReasonCode.HOLD_AT_MAX,
            f"Holding {p.label}: {demand}, but every scalable group is at its max_nodes.",
            next_state=next_state,
        )
    steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in commands)
    coming = f"; {coming_nodes} node(s) already starting count as coming" if coming_nodes else ""
    return p.plan(
        ReasonCode.SCALE_OUT_PENDING_DEMAND,
        f"Scaling out {p.label}: {demand}; {expected}{coming}{stranded}; {steps}"
        + (" (step budget reached)" if growth.short else "")
        + ".",
        commands=commands,
        next_state=next_state.model_copy(
            update={
                "last_scale_out_at": p.now,
                # Only new nodes start an episode whose length is a start delay (taking back draining nodes is not).
                "in_flight_since": p.state.in_flight_since
                or (p.now if any(c.to_count > _running(scalable, c.group_id) for c in commands) else None),
            }
        ),
    )


class _Growth:
    """_Growth adds nodes group by group within each group's step budget and max_nodes, and remembers how many."""

    def __init__(self, p: Planner) -> None:
        self._p = p
        self.added: dict[str, int] = {}
        self.short = False

    def add(self, group: InstanceGroupCapacity, capacity: NodeCapacity, want_mb: float, want_vcores: float) -> int:
        """Add grows `group` by the nodes `want_mb`/`want_vcores` need, as far as it may; returns how many."""
        limits = self._p.limits(group)
        if limits is None:
            return 0
        needed = max(math.ceil(max(want_mb, 0) / capacity.memory_mb), math.ceil(max(want_vcores, 0) / capacity.vcores))
        before = self.added.get(group.group_id, 0)
        budget = self._p.out_budget(group) - before
        add = min(needed, limits.max_nodes - group.requested_count - before, budget)
        self.short = self.short or add == budget < needed
        if add <= 0:
            return 0
        self.added[group.group_id] = before + add
        return add
