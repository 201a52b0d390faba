"""Planner: one evaluation's inputs (snapshot, metrics, policy, prior state, now) and the guard checks made so far."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.scaling import GroupLimits, NodeCapacity, ScalingPolicy
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    GroupRole,
    InstanceGroupCapacity,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    GuardCheck,
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.scaling.domain.labels import AmPlacement


class Planner:
    """Planner carries one evaluation's inputs and the checks made so far."""

    def __init__(
        self,
        snapshot: ClusterSnapshot,
        metrics: YarnMetrics | None,
        policy: ScalingPolicy,
        state: ScalingState,
        now: datetime,
    ) -> None:
        self.snapshot = snapshot
        self.metrics = metrics
        self.policy = policy
        self.state = state
        self.now = now
        self.checks: list[GuardCheck] = []
        # What pending ApplicationMasters wait for on their node label (None: labels do not apply).
        self.am: AmPlacement | None = None

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(GuardCheck(name=name, passed=passed, detail=detail))
        return passed

    def plan(
        self,
        reason: ReasonCode,
        explanation: str,
        commands: Iterable[ResizeInstanceGroup] = (),
        next_state: ScalingState | None = None,
    ) -> ResizePlan:
        return ResizePlan(
            cluster_id=self.snapshot.cluster_id,
            decided_at=self.now,
            reason=reason,
            explanation=explanation,
            commands=tuple(commands),
            checks=tuple(self.checks),
            next_state=next_state or self.state,
        )

    @property
    def label(self) -> str:
        return f"cluster {self.snapshot.name!r} ({self.snapshot.cluster_id})"

    def limits(self, group: InstanceGroupCapacity) -> GroupLimits | None:
        if group.role is GroupRole.TASK:
            return self.policy.groups.task
        if group.role is GroupRole.CORE:
            return self.policy.groups.core
        return None

    def scalable_groups(self) -> list[InstanceGroupCapacity]:
        """TASK groups first (cheapest to add and to lose: no HDFS), then CORE where configured.

        Among them, a Spot group whose instance type this cluster saw reclaimed less comes first, so a scale-out
        grows it before one whose type keeps being interrupted (On-Demand groups count no interruption).
        """
        groups = [g for g in self.snapshot.groups if (lim := self.limits(g)) is not None and lim.scalable]

        def reclaimed(group: InstanceGroupCapacity) -> int:
            return self.state.reclaimed(group.instance_type) if group.market == "SPOT" else 0

        return sorted(groups, key=lambda g: (g.role is not GroupRole.TASK, reclaimed(g), g.name, g.group_id))

    def node_capacity(self, group: InstanceGroupCapacity, metrics: YarnMetrics) -> NodeCapacity | None:
        """Explicit configuration wins; else what YARN reports per node; else EMR's default for the type."""
        configured = self.policy.node_capacity.get(group.instance_type)
        if configured is not None:
            return configured
        nodes = metrics.active_nodes or sum(
            g.running_count for g in self.snapshot.groups if g.role is not GroupRole.MASTER
        )
        if nodes and metrics.total_memory_mb:
            vcores = (metrics.total_vcores or 0) // nodes
            default = self.policy.capacity_of(group.instance_type)
            return NodeCapacity(
                memory_mb=max(1, metrics.total_memory_mb // nodes),
                vcores=vcores if vcores > 0 else (default.vcores if default else 1),
            )
        return self.policy.capacity_of(group.instance_type)

    def out_budget(self, group: InstanceGroupCapacity) -> int:
        """Out_budget is the most one scale-out adds to a group: the larger of its two step budgets.

        In the group's counts: nodes for a group; units for a fleet, where `max_step_nodes` nodes are as many of its
        lightest type (`units_per_node`), and `max_step_pct` is a share of its units.
        """
        return self.policy.scale_out.step_budget(group.requested_count, group.units_per_node)

    def in_budget(self, group: InstanceGroupCapacity) -> int:
        """In_budget is the most one scale-in removes from a group: the smaller of its budgets, at least 1 (counts as
        for `out_budget`)."""
        scale_in = self.policy.scale_in
        nodes = scale_in.max_step_nodes * group.units_per_node
        return max(1, min(nodes, math.floor(group.requested_count * scale_in.max_step_pct / 100.0)))

    def cooldown_until(self) -> datetime | None:
        ends = []
        if self.state.last_scale_out_at is not None:
            ends.append(self.state.last_scale_out_at + timedelta(seconds=self.policy.scale_out.cooldown_s))
        if self.state.last_scale_in_at is not None:
            ends.append(self.state.last_scale_in_at + timedelta(seconds=self.policy.scale_in.cooldown_s))
        latest = max(ends, default=None)
        return latest if latest is not None and latest > self.now else None
