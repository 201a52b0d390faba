"""Shortage: EMR's own word that a group or fleet is short of EC2 capacity starts the Spot fallback at once.

EMR emits `EC2 provisioning - Insufficient Instance Capacity` (EMR Instance Group / Fleet Provisioning) when it
cannot fulfil a resize, and again periodically while it keeps failing
(https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-insuff-capacity.html), and a fleet's
`Spot Provisioning timeout` (EMR Instance Fleet Resize) when its Spot request timed out. Either is the evidence the
shortage clock (`fleets.spot.shortage_timeout_s`) otherwise waits for: the Spot side named by the event is marked
short by EMR (`FleetMemory.emr_said_short`), so this very evaluation falls back to On-Demand (within the cap and the
step budget) if its Spot is still missing, and its notice says EMR reported the shortage. If Spot has all it asked
for by then, nothing happens: the mark is dropped where Spot is not missing (see `spot.remember_spot`).
"""

from __future__ import annotations

from datetime import datetime

from emr_autoscaler.scaling.domain.decisions import ScalingState

# EMR's event codes that say capacity is short (matched case-insensitively, as a prefix or part of the code).
SHORTAGE_CODES = ("insufficient instance capacity", "spot provisioning timeout")


def says_short(event_code: str) -> bool:
    """Says_short is true for an EMR event code that reports capacity EC2 could not provide."""
    code = event_code.lower()
    return any(marker in code for marker in SHORTAGE_CODES)


def short_now(state: ScalingState, owner_id: str, now: datetime) -> ScalingState:
    """Short_now is `state` with group or fleet `owner_id` marked short by EMR's word (its clock starts now if it
    has not yet), so the next Spot decision falls back without waiting the timeout while its Spot is missing."""
    memory = state.fleet(owner_id)
    updated = memory.model_copy(update={"emr_said_short": True, "spot_short_since": memory.spot_short_since or now})
    others = tuple(f for f in state.fleets if f.fleet_id != owner_id)
    return state.model_copy(update={"fleets": (*others, updated)})
