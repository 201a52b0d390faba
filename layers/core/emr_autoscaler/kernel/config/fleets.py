"""FleetsConfig: how the scaler sizes instance-fleet clusters (in units) and what it does when Spot is short.

Units are EMR's: a fleet's targets count each node as its instance type's WeightedCapacity
(https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-instance-fleet.html). Step budgets of `scale_out` /
`scale_in` count nodes on fleets too: `max_step_nodes` becomes as many units as that many nodes of the fleet's
lightest type (so one step never adds or removes more than `max_step_nodes` nodes, whatever types EMR picks);
`max_step_pct` is a share of the fleet's units. Cooldowns apply as they are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from emr_autoscaler.kernel.models import Frozen


def keep_role_defaults(model: type[BaseModel], data: Any, roles: tuple[str, ...] = ("task", "core")) -> Any:
    """Keep_role_defaults fills what a document leaves out of a role's limits from that role's defaults, so
    `core: {scalable: true}` keeps CORE's own bounds instead of failing with "Field required"."""
    if not isinstance(data, dict):
        return data
    merged = dict(data)
    for role in roles:
        given = merged.get(role)
        default = model.model_fields[role].default
        if isinstance(given, dict) and isinstance(default, BaseModel):
            merged[role] = {**default.model_dump(), **given}
    return merged


class Market(StrEnum):
    """Market is where a fleet's capacity comes from."""

    SPOT = "spot"
    ON_DEMAND = "on_demand"


class FleetLimits(Frozen):
    """FleetLimits bounds one fleet role's target capacity in units; the scaler never leaves [min_units, max_units].

    `max_on_demand_units` caps the fleet's On-Demand target (growth and the Spot fallback never go above it);
    `grow_market` is the market new units are asked of first, `shrink_market` the one units are taken from first
    (Spot, as EMR Managed Scaling does). On-Demand units the fallback added are always given back first.

    `on_demand_share_pct` (None by default: the markets above decide alone) is the share of the fleet's target
    On-Demand should hold: a resize splits its change so that On-Demand moves towards that share of the new total
    (rounded, never above `max_on_demand_units`), Spot takes the rest; a resize never moves units from one market
    to the other by itself.
    """

    min_units: int = Field(default=0, ge=0)
    max_units: int = Field(default=80, ge=0)
    max_on_demand_units: int = Field(default=20, ge=0)
    on_demand_share_pct: float | None = Field(default=None, ge=0, le=100)
    grow_market: Market = Market.SPOT
    shrink_market: Market = Market.SPOT
    scalable: bool = True

    def on_demand_goal(self, total_units: int) -> int | None:
        """On_demand_goal is the On-Demand target `on_demand_share_pct` asks of a fleet of `total_units` (None: no
        share set), within `max_on_demand_units`."""
        if self.on_demand_share_pct is None:
            return None
        return min(self.max_on_demand_units, round(total_units * self.on_demand_share_pct / 100.0))

    @model_validator(mode="after")
    def _min_not_above_max(self) -> FleetLimits:
        if self.min_units > self.max_units:
            raise ValueError(f"min_units ({self.min_units}) is greater than max_units ({self.max_units})")
        return self


class SpotConfig(Frozen):
    """SpotConfig: when a Spot request counts as short, and when On-Demand units bought for it are given back.

    A fleet whose Spot target has stayed above its provisioned Spot capacity for `shortage_timeout_s` (default
    15 min) is short: the missing units are asked of On-Demand within `max_on_demand_units`. The same timeout is
    sent to EMR as the fleet's SpotResizeSpecification.TimeoutDurationMinutes (EMR's minimum is 5 min,
    https://docs.aws.amazon.com/emr/latest/APIReference/API_SpotResizingSpecification.html), so EMR stops asking
    when the scaler gives up. `retry_after_s` after a fallback, Spot is asked again for the same units; once it
    has them, the On-Demand units go.
    """

    fallback: bool = True
    shortage_timeout_s: int = Field(default=900, ge=300, le=604800)
    retry_after_s: int = Field(default=1800, ge=60)
    # A fleet one of whose Spot instance types was reclaimed this often within the window grows On-Demand first
    # (within the cap), and its interrupted nodes are replaced On-Demand: EMR picks a fleet's types itself, so the
    # market is what the scaler can steer. 0 turns it off.
    reclaimed_limit: int = Field(default=3, ge=0, le=20)
    reclaimed_window_s: int = Field(default=3600, gt=0, le=604800)


class FleetsConfig(Frozen):
    """FleetsConfig holds the unit limits per fleet role (CORE left alone unless `core.scalable`) and the Spot rules."""

    task: FleetLimits = FleetLimits()
    core: FleetLimits = FleetLimits(min_units=2, max_units=20, max_on_demand_units=20, scalable=False)
    spot: SpotConfig = SpotConfig()

    @model_validator(mode="before")
    @classmethod
    def _partial_limits_keep_role_defaults(cls, data: Any) -> Any:
        return keep_role_defaults(cls, data)
