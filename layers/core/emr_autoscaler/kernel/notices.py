"""The notice vocabulary every job shares: how severe a notice is, and what kind of thing it tells."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """Severity of a notice, as the notifier routes it."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class NoticeKind(StrEnum):
    """NoticeKind says what happened; routing rules select on it."""

    CLUSTER_TERMINATED_WITH_ERRORS = "cluster_terminated_with_errors"
    STEP_FAILED = "step_failed"
    SCALED_OUT = "scaled_out"
    SCALED_IN = "scaled_in"
    SCALING_HELD = "scaling_held"
    SCALING_FAILED = "scaling_failed"
    CONFIGURATION_REFUSED = "configuration_refused"
    STEP_RETRY_SCHEDULED = "step_retry_scheduled"
    STEP_RETRY_ADDED = "step_retry_added"
    STEP_RETRY_GIVEN_UP = "step_retry_given_up"
    CLUSTER_WATCH = "cluster_watch"
    HEALTH_ALARM = "health_alarm"
    SPOT_FALLBACK = "spot_fallback"
    SPOT_GIVE_BACK = "spot_give_back"


def severity_rank(severity: Severity) -> int:
    """Severity_rank orders severities: info 0 < warning 1 < critical 2."""
    return _SEVERITY_RANK[severity]


class SpotAction(StrEnum):
    """SpotAction is what the scaler did about a Spot shortage."""

    FALLBACK = "fallback"
    WITHDRAW = "withdraw"
    HOLD = "hold"
    RETRY = "retry"
    GIVE_BACK = "give_back"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


class SpotEpisode(BaseModel):
    """SpotEpisode is one step of a Spot shortage episode, as its notice and `explain` tell it.

    `where` names the Spot side (`fleet 'Task' (if-…)`, `Spot group 'spot' (ig-…)`); `short` is the Spot capacity
    missing (in `unit`s: units for fleets, nodes for groups) and `short_for_s` how long it has been (for a retry or a
    give-back: how long On-Demand carried it); the targets are the On-Demand and Spot sides before and after.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    action: SpotAction
    where: str = Field(max_length=200)
    unit: str = Field(max_length=16)
    short: int = Field(ge=0)
    short_for_s: int = Field(ge=0)
    on_demand_from: int = Field(ge=0)
    on_demand_to: int = Field(ge=0)
    spot_from: int = Field(ge=0)
    spot_to: int = Field(ge=0)
    max_on_demand: int = Field(ge=0)

    @property
    def summary(self) -> str:
        """Summary says in one line what was short, for how long, and what the scaler did."""
        n, unit, span = self.short, self.unit, _minutes(self.short_for_s)
        markets = f"On-Demand {self.on_demand_from} → {self.on_demand_to}, Spot {self.spot_from} → {self.spot_to}"
        if self.action is SpotAction.FALLBACK:
            added = self.on_demand_to - self.on_demand_from
            did = (
                f"asked On-Demand for {added} {unit}(s) within its cap of {self.max_on_demand}"
                if added >= 0
                else f"Spot returned {-added} {unit}(s), as many On-Demand ones go"
            )
            return f"{self.where} was {n} Spot {unit}(s) short for {span}; {did} ({markets})"
        if self.action is SpotAction.WITHDRAW:
            return (
                f"{self.where} was {n} Spot {unit}(s) short for {span}; On-Demand is at its cap of "
                f"{self.max_on_demand} and EMR stopped asking, so the Spot request was withdrawn ({markets})"
            )
        if self.action is SpotAction.HOLD:
            return (
                f"{self.where} is {n} Spot {unit}(s) short for {span}; On-Demand is at its cap of "
                f"{self.max_on_demand}, nothing added"
            )
        if self.action is SpotAction.RETRY:
            return f"{self.where}: Spot asked again for {n} {unit}(s) On-Demand carried for {span} ({markets})"
        return f"{self.where}: Spot is back, {n} On-Demand {unit}(s) given back after {span} ({markets})"
