"""Decisions as data: reason codes, resize commands, the plan, and the per-cluster scaling state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, SerializeAsAny, model_validator

from emr_autoscaler.kernel.models import Frozen, GroupRole, ManagedScalingLimits
from emr_autoscaler.kernel.notices import SpotEpisode


class ReasonCode(StrEnum):
    """ReasonCode is the machine-readable why of every decision; README.md explains each one.

    Every code but the two SKIPPED_ ones is decided in this domain (plan_resize and the early holds in guards.py).
    SKIPPED_ALREADY_DECIDED (a lost claim) and SKIPPED_GROUP_MOVED (the actuator found a group changed) are the
    service's outcomes, never a decision: they come with Outcome.SKIPPED and are named SKIPPED_ so.
    """

    SCALE_OUT_PENDING_DEMAND = "SCALE_OUT_PENDING_DEMAND"
    SCALE_IN_LOW_UTILIZATION = "SCALE_IN_LOW_UTILIZATION"
    SCALE_IN_IDLE = "SCALE_IN_IDLE"
    SCALE_TO_LIMITS = "SCALE_TO_LIMITS"
    SCALE_SPOT_FALLBACK = "SCALE_SPOT_FALLBACK"
    SCALE_SPOT_GIVE_BACK = "SCALE_SPOT_GIVE_BACK"
    SCALE_REPLACE_INTERRUPTED = "SCALE_REPLACE_INTERRUPTED"
    SCALE_MANAGED_SCALING_LIMITS = "SCALE_MANAGED_SCALING_LIMITS"
    HOLD_STEADY = "HOLD_STEADY"
    HOLD_STABILIZING = "HOLD_STABILIZING"
    HOLD_COOLDOWN = "HOLD_COOLDOWN"
    HOLD_AT_MAX = "HOLD_AT_MAX"
    HOLD_AT_MIN = "HOLD_AT_MIN"
    HOLD_HDFS_PROTECTED = "HOLD_HDFS_PROTECTED"
    HOLD_NODE_CAPACITY_UNKNOWN = "HOLD_NODE_CAPACITY_UNKNOWN"
    HOLD_METRICS_MISSING = "HOLD_METRICS_MISSING"
    HOLD_METRICS_STALE = "HOLD_METRICS_STALE"
    HOLD_METRICS_CONTRADICTORY = "HOLD_METRICS_CONTRADICTORY"
    HOLD_GROUP_NOT_SETTLED = "HOLD_GROUP_NOT_SETTLED"
    HOLD_CAPACITY_IN_FLIGHT = "HOLD_CAPACITY_IN_FLIGHT"
    HOLD_DEMAND_DRAINING = "HOLD_DEMAND_DRAINING"
    HOLD_CLUSTER_NOT_ACTIVE = "HOLD_CLUSTER_NOT_ACTIVE"
    HOLD_CLUSTER_NOT_OPTED_IN = "HOLD_CLUSTER_NOT_OPTED_IN"
    HOLD_CLUSTER_NOT_FOUND = "HOLD_CLUSTER_NOT_FOUND"
    HOLD_CONFIG_INVALID = "HOLD_CONFIG_INVALID"
    HOLD_NO_SCALABLE_GROUP = "HOLD_NO_SCALABLE_GROUP"
    HOLD_PAUSED = "HOLD_PAUSED"
    HOLD_SPOT_SHORT = "HOLD_SPOT_SHORT"
    HOLD_INTERRUPTION_NOT_REPLACED = "HOLD_INTERRUPTION_NOT_REPLACED"
    HOLD_CLUSTER_UNREADABLE = "HOLD_CLUSTER_UNREADABLE"
    HOLD_AM_LABEL_NOT_SCALABLE = "HOLD_AM_LABEL_NOT_SCALABLE"
    HOLD_OTHER_SCALER = "HOLD_OTHER_SCALER"
    HOLD_OTHER_SCALER_UNREADABLE = "HOLD_OTHER_SCALER_UNREADABLE"
    HOLD_MANAGED_SCALING_TUNED = "HOLD_MANAGED_SCALING_TUNED"
    SKIPPED_ALREADY_DECIDED = "SKIPPED_ALREADY_DECIDED"
    SKIPPED_GROUP_MOVED = "SKIPPED_GROUP_MOVED"

    @property
    def acts(self) -> bool:
        """Acts is true for the reason codes that come with resize commands."""
        return self.value.startswith("SCALE_")


class Direction(StrEnum):
    """Direction of a resize."""

    OUT = "out"
    IN = "in"


class ResizeInstanceGroup(Frozen):
    """ResizeInstanceGroup is a command: set one group's instance count from `from_count` to `to_count`.

    `from_count` is what the decision saw; the actuator refuses the command if the group has moved since.
    Shrinks carry a graceful decommission timeout.
    """

    group_id: str
    group_name: str
    role: GroupRole
    from_count: int = Field(ge=0)
    to_count: int = Field(ge=0)
    decommission_timeout_s: int | None = None

    @property
    def direction(self) -> Direction:
        """Direction is OUT for growth and IN for shrink."""
        return Direction.OUT if self.to_count > self.from_count else Direction.IN


class ResizeInstanceFleet(ResizeInstanceGroup):
    """ResizeInstanceFleet is a command: set one fleet's On-Demand and Spot targets (units, not nodes).

    `from_count`/`to_count` are the fleet's total target units (so totals, budgets and metrics read as for groups);
    `from_on_demand`/`from_spot` are what the decision saw, and the actuator refuses the command if the fleet has
    moved since. `spot_timeout_minutes` goes to EMR as the resize's SpotResizeSpecification.TimeoutDurationMinutes.
    """

    from_on_demand: int = Field(ge=0)
    from_spot: int = Field(ge=0)
    to_on_demand: int = Field(ge=0)
    to_spot: int = Field(ge=0)
    spot_timeout_minutes: int | None = Field(default=None, ge=5, le=10080)

    @model_validator(mode="after")
    def _markets_add_up(self) -> ResizeInstanceFleet:
        if self.from_on_demand + self.from_spot != self.from_count or self.to_on_demand + self.to_spot != self.to_count:
            raise ValueError("On-Demand and Spot targets must add up to the fleet's total")
        return self


class TuneManagedScaling(Frozen):
    """TuneManagedScaling is a command: replace the cluster's managed scaling limits `from_limits` (what the decision
    saw; the actuator refuses the command if the policy has moved since) with `to_limits` (PutManagedScalingPolicy).
    `desired_units` is the capacity the decision asked for, before the limits were clamped."""

    from_limits: ManagedScalingLimits
    to_limits: ManagedScalingLimits
    desired_units: int = Field(ge=0)

    def describe(self) -> str:
        """Describe is the change in one phrase: `managed scaling max 20 → 9 Instances`."""
        changes = [
            f"{name} {before} → {after}"
            for name, before, after in (
                ("max", self.from_limits.maximum_units, self.to_limits.maximum_units),
                ("On-Demand max", self.from_limits.maximum_on_demand_units, self.to_limits.maximum_on_demand_units),
                ("CORE max", self.from_limits.maximum_core_units, self.to_limits.maximum_core_units),
            )
            if before != after
        ]
        return f"managed scaling {', '.join(changes) or 'unchanged'} {self.to_limits.unit_type}"


class ManagedScalingMemory(Frozen):
    """ManagedScalingMemory is what the scaler remembers of a managed scaling policy it tunes: the limits it last
    wrote, and the maximums as the team set them (the On-Demand and CORE caps are never raised above the team's).
    A policy that differs from `written` was changed by someone else: its maximums become the team's."""

    written: ManagedScalingLimits
    team: ManagedScalingLimits


class FleetMemory(Frozen):
    """FleetMemory is what the scaler remembers of one fleet's Spot side between evaluations.

    `spot_short_since`: since when the Spot target has been above provisioned Spot with no Spot unit arriving
    (`last_provisioned_spot` is what the last evaluation saw: an arrival restarts the clock); `fallback_units`:
    On-Demand units asked for in place of Spot that did not come (given back once Spot returns); `fallback_at`: when the
    fallback (or its last retry) was made; `fallback_since`: when On-Demand started carrying them (the episode's
    start, for its notices); `retry_units`: units Spot has been asked for again, on top of the On-Demand ones
    carrying them (released once Spot has them).
    """

    fleet_id: str
    spot_short_since: datetime | None = None
    fallback_units: int = Field(default=0, ge=0)
    fallback_at: datetime | None = None
    fallback_since: datetime | None = None
    retry_units: int = Field(default=0, ge=0)
    last_provisioned_spot: int | None = Field(default=None, ge=0)
    # EMR said this group or fleet is short of EC2 capacity (its insufficient-capacity or Spot timeout event): the
    # fallback need not wait `shortage_timeout_s` (see shortage.py); cleared once Spot is no longer missing.
    emr_said_short: bool = False


class Replacement(Frozen):
    """Replacement is capacity asked for in advance of a Spot interruption: `units` on `market` of a fleet, for the
    instance EC2 reclaims after `gone_after`. Once it is gone the target comes back down by as much (`restored`), so
    EMR does not replenish the fleet a second time."""

    ec2_instance_id: str
    fleet_id: str
    market: str
    units: int = Field(gt=0)
    gone_after: datetime
    restored: bool = False


class InterruptionCount(Frozen):
    """InterruptionCount is how many Spot interruptions a cluster saw of one instance type, and when the latest
    (`recent`, oldest first, at most MAX_RECENT_INTERRUPTIONS) were."""

    instance_type: str
    count: int = Field(ge=0)
    recent: tuple[datetime, ...] = ()

    def within(self, since: datetime) -> int:
        """Within counts the interruptions remembered since `since`."""
        return sum(1 for at in self.recent if at >= since)


MAX_RECENT_INTERRUPTIONS = 20


class GuardCheck(Frozen):
    """GuardCheck records one safety check the planner made, for `explain` and the audit trail."""

    name: str
    passed: bool
    detail: str


class ScalingState(Frozen):
    """ScalingState is what the scaler remembers about one cluster between evaluations.

    `version` increases with every write; writes are conditional on it, so two evaluations racing on one
    cluster cannot both act. What the scaler learns of the cluster lives here too: the pending memory of the last
    read and the share of a backlog still waiting a minute later (`backlog_kept`, smoothed), how long its nodes
    took to start (`start_delay_s`, from `in_flight_since` to no node in flight), and the highest demand (allocated
    plus pending MB) seen within one start delay.
    """

    cluster_id: str
    version: int = 0
    last_scale_out_at: datetime | None = None
    last_scale_in_at: datetime | None = None
    low_utilization_since: datetime | None = None
    last_decision_id: str | None = None
    last_reason: ReasonCode | None = None
    last_pending_mb: int | None = None
    last_read_at: datetime | None = None
    backlog_kept: float | None = None
    in_flight_since: datetime | None = None
    start_delay_s: float | None = None
    demand_peak_mb: int | None = None
    demand_peak_at: datetime | None = None
    fleets: tuple[FleetMemory, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    interruptions: tuple[InterruptionCount, ...] = ()
    managed_scaling: ManagedScalingMemory | None = None

    def reclaimed(self, instance_type: str) -> int:
        """Reclaimed is how many Spot interruptions of `instance_type` this cluster has seen (0 when none)."""
        return next((c.count for c in self.interruptions if c.instance_type == instance_type), 0)

    def fleet(self, fleet_id: str) -> FleetMemory:
        """Fleet returns what is remembered of a fleet (a fresh memory for a fleet never seen)."""
        return next((f for f in self.fleets if f.fleet_id == fleet_id), FleetMemory(fleet_id=fleet_id))


class ResizePlan(Frozen):
    """ResizePlan is the planner's decision: commands (maybe none), a reason code, a sentence, the next state."""

    cluster_id: str
    decided_at: datetime
    reason: ReasonCode
    explanation: str
    # SerializeAsAny: a fleet command keeps its market fields when the plan is dumped (audit records, events).
    commands: tuple[SerializeAsAny[ResizeInstanceGroup], ...] = ()
    checks: tuple[GuardCheck, ...] = ()
    next_state: ScalingState
    # Set on a Spot fallback, retry, give-back or short hold: what was short, for how long, what was done.
    spot: SpotEpisode | None = None
    # Instead of resize commands, on a cluster whose managed scaling the scaler tunes (`managed_scaling: tune`).
    managed_scaling: TuneManagedScaling | None = None

    @property
    def acts(self) -> bool:
        """Acts is true when the plan carries at least one resize command, or new managed scaling limits."""
        return bool(self.commands) or self.managed_scaling is not None

    @property
    def nodes_delta(self) -> int:
        """Nodes_delta is the total change in node count the plan asks for (negative for scale-in)."""
        return sum(c.to_count - c.from_count for c in self.commands)


class Outcome(StrEnum):
    """Outcome is what became of a decision: applied, held, skipped (a lost claim, a moved group), failed, or observed
    (observe mode: recorded as if applied, EMR never called)."""

    APPLIED = "applied"
    HELD = "held"
    SKIPPED = "skipped"
    FAILED = "failed"
    OBSERVED = "observed"
