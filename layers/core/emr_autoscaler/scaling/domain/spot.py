"""Spot: the shortage fallback, its retry and its give-back, for a fleet's two markets or a Spot TASK group with an
On-Demand TASK group beside it. Pure.

A `SpotPair` is one place capacity is asked of Spot with an On-Demand side to fall back on. Spot asked for and not
provisioned for `fleets.spot.shortage_timeout_s`, with no Spot arriving meanwhile, is short: the missing capacity is
asked of On-Demand within its cap and Spot stops being asked for it (SCALE_SPOT_FALLBACK); with nothing to add the
pair holds (HOLD_SPOT_SHORT, one notice per episode). `retry_after_s` later Spot is asked again for that capacity;
once it has it, the On-Demand capacity goes (SCALE_SPOT_GIVE_BACK). Sizes are units for fleets, nodes for groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.notices import SpotAction, SpotEpisode
from emr_autoscaler.scaling.domain.decisions import (
    FleetMemory,
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)


def reclaimed_often(state: ScalingState, instance_types: list[str], policy: ScalingPolicy, now: datetime) -> list[str]:
    """Reclaimed_often names the instance types, of those given, whose Spot interruptions within
    `fleets.spot.reclaimed_window_s` reached `reclaimed_limit` (each with its count); empty when off or none."""
    spot = policy.fleets.spot
    if not spot.reclaimed_limit:
        return []
    since = now - timedelta(seconds=spot.reclaimed_window_s)
    found = []
    for count in state.interruptions:
        recent = count.within(since)
        if count.instance_type in instance_types and recent >= spot.reclaimed_limit:
            found.append(f"{count.instance_type} {recent} times in {spot.reclaimed_window_s // 60} min")
    return found


# Holds decided before demand is read (plan_resize's guards): the Spot side is not looked at then.
EARLY_HOLDS = frozenset(
    {
        ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN,
        ReasonCode.HOLD_CLUSTER_NOT_ACTIVE,
        ReasonCode.HOLD_NO_SCALABLE_GROUP,
        ReasonCode.HOLD_GROUP_NOT_SETTLED,
        ReasonCode.HOLD_METRICS_MISSING,
        ReasonCode.HOLD_METRICS_STALE,
        ReasonCode.HOLD_METRICS_CONTRADICTORY,
    }
)


@dataclass(frozen=True)
class SpotPair:
    """SpotPair is a Spot target and the On-Demand target that may carry it, with their limits.

    `key` names the memory (the fleet's id, or the Spot group's); `on_demand_step` is the most one action asks of
    On-Demand (the On-Demand side's scale-out step budget); `retry_room` is how much Spot may be asked for on
    top of its target without leaving the limits; `emr_gave_up` is true when EMR stopped asking Spot by itself (a
    fleet RUNNING short after its Spot timeout); `commands(on_demand, spot)` sets the two targets. The minimums
    are what no Spot step may go below: each group's `min_nodes` (`min_on_demand`, `min_spot`) on instance-group
    clusters, the fleet's `min_units` (`min_total`, On-Demand and Spot together) on fleets.
    """

    key: str
    name: str
    unit: str
    target_on_demand: int
    target_spot: int
    provisioned_spot: int
    max_on_demand: int
    on_demand_step: int
    retry_room: int
    emr_gave_up: bool
    commands: Callable[[int, int], tuple[ResizeInstanceGroup, ...]]
    min_on_demand: int = 0
    min_spot: int = 0
    min_total: int = 0

    def spot_floor(self, on_demand: int) -> int:
        """Spot_floor is the lowest Spot target the minimums allow beside an On-Demand target of `on_demand`."""
        return max(self.min_spot, self.min_total - on_demand)

    def on_demand_floor(self, spot: int) -> int:
        """On_demand_floor is the lowest On-Demand target the minimums allow beside a Spot target of `spot`."""
        return max(self.min_on_demand, self.min_total - spot)

    @property
    def spot_missing(self) -> int:
        """Spot_missing is the Spot capacity asked for and not (yet) provisioned."""
        return max(0, self.target_spot - self.provisioned_spot)


def remember_spot(state: ScalingState, pairs: list[SpotPair], now: datetime) -> dict[str, FleetMemory]:
    """Remember_spot says since when each pair's Spot has been short (None when it has all it asked for).

    The clock runs while Spot is missing and none arrives: a busy fleet whose Spot keeps coming, one request after
    another, is growing, not short, however long some of it has been in flight.
    """
    memories: dict[str, FleetMemory] = {}
    for pair in pairs:
        memory = state.fleet(pair.key)
        arrived = memory.last_provisioned_spot is not None and pair.provisioned_spot > memory.last_provisioned_spot
        since = None
        if pair.spot_missing:
            since = now if arrived or memory.spot_short_since is None else memory.spot_short_since
        memories[pair.key] = memory.model_copy(
            update={
                "spot_short_since": since,
                "last_provisioned_spot": pair.provisioned_spot if since else None,
                "emr_said_short": memory.emr_said_short and since is not None,
                # The episode's start is kept while On-Demand carries anything for it.
                "fallback_since": memory.fallback_since if memory.fallback_units else None,
            }
        )
    return memories


@dataclass(frozen=True)
class _SpotDecision:
    """What a Spot decision is made from: the group policy's plan, the memories, the policy and now."""

    plan: ResizePlan
    memories: dict[str, FleetMemory]
    next_state: ScalingState
    policy: ScalingPolicy
    now: datetime
    label: str

    def act(
        self,
        reason: ReasonCode,
        explanation: str,
        pair: SpotPair,
        targets: tuple[int, int],
        remembered: FleetMemory,
        episode: SpotEpisode,
    ) -> ResizePlan:
        """A plan setting the pair's (On-Demand, Spot) targets and remembering `remembered` of it."""
        memories = {**self.memories, remembered.fleet_id: remembered}
        return self.plan.model_copy(
            update={
                "reason": reason,
                "explanation": explanation,
                "commands": pair.commands(*targets),
                "next_state": self.next_state.model_copy(update={"fleets": tuple(memories.values())}),
                "spot": episode,
            }
        )

    def episode(
        self, action: SpotAction, pair: SpotPair, short: int, since: datetime | None, targets: tuple[int, int]
    ) -> SpotEpisode:
        """The notice's account of this step: `short` capacity of `pair`, since `since`, now set to `targets`."""
        return SpotEpisode(
            action=action,
            where=pair.name,
            unit=pair.unit,
            short=short,
            short_for_s=max(0, int((self.now - since).total_seconds())) if since else 0,
            on_demand_from=pair.target_on_demand,
            on_demand_to=targets[0],
            spot_from=pair.target_spot,
            spot_to=targets[1],
            max_on_demand=pair.max_on_demand,
        )


def plan_spot(
    plan: ResizePlan,
    pairs: list[SpotPair],
    memories: dict[str, FleetMemory],
    next_state: ScalingState,
    policy: ScalingPolicy,
    now: datetime,
    label: str,
) -> ResizePlan | None:
    """Plan_spot is the Spot fallback, its retry or its give-back for the first pair that needs one; else None."""
    spot = policy.fleets.spot
    if not spot.fallback:
        return None
    decision = _SpotDecision(plan, memories, next_state, policy, now, label)
    for pair in pairs:
        memory = memories[pair.key]
        since = memory.spot_short_since
        if since is not None and (now - since >= timedelta(seconds=spot.shortage_timeout_s) or memory.emr_said_short):
            return _fallback(decision, pair, memory)
        if memory.fallback_units and not pair.spot_missing:
            given = _give_back(decision, pair, memory)
            if given is not None:
                return given
    return None


def _fallback(d: _SpotDecision, pair: SpotPair, memory: FleetMemory) -> ResizePlan:
    """Ask On-Demand for the Spot capacity that did not come (within the cap); stop asking Spot for it.

    Neither side goes below its minimum: Spot stays asked for what the minimum needs (and On-Demand is not asked
    for that part too), and On-Demand gives back no more than its minimum allows.
    """
    assert memory.spot_short_since is not None
    minutes = (d.now - memory.spot_short_since).total_seconds() / 60
    missing, unit = pair.spot_missing, pair.unit
    # Capacity a retry asked of Spot on top of the On-Demand fallback: not coming means keep the On-Demand one;
    # what did come replaces as much On-Demand (a negative change), down to On-Demand's minimum.
    change = missing - memory.retry_units
    room = max(0, pair.max_on_demand - pair.target_on_demand)
    # One action asks On-Demand for no more than its step budget; the rest stays asked of Spot, and the shortage
    # clock keeps running so that the next evaluation asks On-Demand for more.
    budgeted = change > 0 and pair.on_demand_step < min(change, room)
    if change > 0:
        applied = min(change, room, pair.on_demand_step)
    else:
        applied = max(change, min(0, pair.on_demand_floor(pair.provisioned_spot) - pair.target_on_demand))
    to_spot = pair.provisioned_spot + (change - applied if change > 0 else 0)
    floor = pair.spot_floor(pair.target_on_demand + applied)
    at_minimum = to_spot < floor
    if at_minimum and pair.min_spot:
        # The Spot group keeps asking for its minimum: On-Demand is not asked for those nodes as well.
        applied -= min(max(0, applied), floor - to_spot)
        floor = pair.spot_floor(pair.target_on_demand + applied)
    to_spot = max(to_spot, floor)
    to_on_demand = pair.target_on_demand + applied
    still_asked = to_spot > pair.provisioned_spot
    what = f"{pair.name} is {missing} Spot {unit}(s) short for {minutes:.0f} min"
    if memory.emr_said_short:
        what += " (EMR reports insufficient capacity)"
        memory = memory.model_copy(update={"emr_said_short": False})  # acted on: the next fallback waits again
    minimum = (
        f"Spot stays asked for {to_spot} {unit}(s) to keep {pair.name} at its minimum "
        f"({pair.min_spot or pair.min_total} {unit}s)"
        if at_minimum
        else ""
    )
    unchanged = (to_on_demand, to_spot) == (pair.target_on_demand, pair.target_spot)
    withdrawn = max(pair.provisioned_spot, pair.spot_floor(to_on_demand))
    if unchanged and pair.emr_gave_up and withdrawn < pair.target_spot:
        # EMR itself gave up (its Spot timeout passed) and On-Demand is at its cap: withdraw the request nobody works
        # on, so that the next scale-out asks Spot afresh (not below the fleet's minimum).
        did = (
            f"On-Demand is at its cap ({pair.max_on_demand} {unit}s) and EMR stopped asking Spot, so the request is "
            "withdrawn for the next scale-out to renew"
        )
        if withdrawn > pair.provisioned_spot:
            did += f" down to {pair.name}'s minimum ({pair.min_spot or pair.min_total} {unit}s)"
        return d.act(
            ReasonCode.SCALE_SPOT_FALLBACK,
            f"Falling back on {d.label}: {what}; {did}: Spot {pair.target_spot} → {withdrawn}.",
            pair,
            (to_on_demand, withdrawn),
            memory.model_copy(
                update={"spot_short_since": d.now if withdrawn > pair.provisioned_spot else None, "retry_units": 0}
            ),
            d.episode(SpotAction.WITHDRAW, pair, missing, memory.spot_short_since, (to_on_demand, withdrawn)),
        )
    if unchanged:
        if minimum:
            why = f"{minimum}, and On-Demand is not asked for what Spot still asks"
        else:
            why = f"its On-Demand target {pair.target_on_demand} is at the cap ({pair.max_on_demand} {unit}s); " + (
                f"EMR stopped asking Spot, but the request stays for {pair.name}'s minimum "
                f"({pair.min_spot or pair.min_total} {unit}s)"
                if pair.emr_gave_up
                else "EMR is still asking Spot"
            )
        return d.plan.model_copy(
            update={
                "reason": ReasonCode.HOLD_SPOT_SHORT,
                "explanation": f"Holding {d.label}: {what}, and {why}.",
                "commands": (),
                "next_state": d.next_state,
                "spot": d.episode(SpotAction.HOLD, pair, missing, memory.spot_short_since, (to_on_demand, to_spot)),
            }
        )
    remembered = memory.model_copy(
        update={
            "fallback_units": max(0, memory.fallback_units + applied),
            "fallback_at": d.now,
            "fallback_since": memory.fallback_since or d.now,
            "retry_units": 0,
            "spot_short_since": memory.spot_short_since if budgeted else d.now if still_asked else None,
        }
    )
    if applied > 0:
        budget = f"; step budget {pair.on_demand_step}, the rest at the next evaluation" if budgeted else ""
        did = f"asking On-Demand for {applied} {unit}(s) (cap {pair.max_on_demand}{budget})"
    elif applied < 0:
        did = f"Spot returned {-applied} {unit}(s) of the retry, so as many On-Demand {unit}s go"
    else:
        did = "On-Demand is asked for nothing more"
    if minimum:
        did += f"; {minimum}"
    return d.act(
        ReasonCode.SCALE_SPOT_FALLBACK,
        f"Falling back on {d.label}: {what}; {did}: On-Demand {pair.target_on_demand} → {to_on_demand}, "
        f"Spot {pair.target_spot} → {to_spot}.",
        pair,
        (to_on_demand, to_spot),
        remembered,
        d.episode(SpotAction.FALLBACK, pair, missing, memory.spot_short_since, (to_on_demand, to_spot)),
    )


def _give_back(d: _SpotDecision, pair: SpotPair, memory: FleetMemory) -> ResizePlan | None:
    """Spot has all it asks for: release the On-Demand capacity of a retry that came, or retry Spot when it is time."""
    units, unit = memory.fallback_units, pair.unit
    # On-Demand gives back no more than its minimum allows beside the Spot that runs.
    releasable = max(0, pair.target_on_demand - pair.on_demand_floor(pair.provisioned_spot))
    if memory.retry_units:
        released = min(memory.retry_units, releasable)
        remembered = memory.model_copy(
            update={"fallback_units": units - released, "retry_units": 0, "fallback_at": d.now}
        )
        if not released:
            # On-Demand is at its minimum already: nothing to give back; the retry's units are forgotten.
            memories = {**d.memories, remembered.fleet_id: remembered}
            return d.plan.model_copy(
                update={"next_state": d.next_state.model_copy(update={"fleets": tuple(memories.values())})}
            )
        targets = (pair.target_on_demand - released, pair.target_spot)
        return d.act(
            ReasonCode.SCALE_SPOT_GIVE_BACK,
            f"Giving back On-Demand on {d.label}: Spot is back on {pair.name}, so the {released} On-Demand {unit}(s) "
            f"bought in its place go: On-Demand {pair.target_on_demand} → {pair.target_on_demand - released}.",
            pair,
            targets,
            remembered,
            d.episode(SpotAction.GIVE_BACK, pair, released, memory.fallback_since or memory.fallback_at, targets),
        )
    retry_after = timedelta(seconds=d.policy.fleets.spot.retry_after_s)
    if memory.fallback_at is not None and d.now < memory.fallback_at + retry_after:
        return None
    if pair.retry_room:
        # Ask Spot again on top of what runs; the On-Demand capacity stays until Spot has delivered.
        retry = min(units, pair.retry_room)
        targets, did = (pair.target_on_demand, pair.target_spot + retry), "asking Spot again for"
        remembered = memory.model_copy(update={"retry_units": retry, "fallback_at": d.now})
    else:
        # At the limit there is no room to ask on top: swap, and fall back again if Spot is still short.
        retry = min(units, max(0, pair.target_on_demand - pair.min_on_demand))
        if not retry:
            return None
        targets, did = (pair.target_on_demand - retry, pair.target_spot + retry), "swapping back"
        remembered = memory.model_copy(update={"fallback_units": units - retry, "fallback_at": d.now})
    return d.act(
        ReasonCode.SCALE_SPOT_GIVE_BACK,
        f"Retrying Spot on {d.label}: {did} {retry} {unit}(s) of {pair.name} that On-Demand carries since the Spot "
        f"shortage: On-Demand {pair.target_on_demand} → {targets[0]}, Spot {pair.target_spot} → {targets[1]}.",
        pair,
        targets,
        remembered,
        d.episode(SpotAction.RETRY, pair, retry, memory.fallback_since or memory.fallback_at, targets),
    )
