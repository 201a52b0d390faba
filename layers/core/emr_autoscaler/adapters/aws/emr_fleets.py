"""EmrInstanceFleets: the EmrFleets port over boto3's EMR client (instance-fleet clusters).

Two calls: ListInstanceFleets to read (https://docs.aws.amazon.com/emr/latest/APIReference/API_ListInstanceFleets.html)
and ModifyInstanceFleet to resize (https://docs.aws.amazon.com/emr/latest/APIReference/API_ModifyInstanceFleet.html):
one call per fleet, targets in units, with a SpotResizeSpecification.TimeoutDurationMinutes when Spot grows
(https://docs.aws.amazon.com/emr/latest/APIReference/API_SpotResizingSpecification.html). Fleets have no shrink
policy: YARN's own decommission timeout applies to the nodes a smaller target removes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from emr_autoscaler.adapters.aws.emr import unreadable_when_refused
from emr_autoscaler.kernel.models import (
    FleetInstanceType,
    GroupRole,
    GroupState,
    InstanceFleetCapacity,
    InstanceLocation,
)
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceFleet
from emr_autoscaler.scaling.ports import ClusterUnreadableError, GroupMovedError

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient
    from mypy_boto3_emr.type_defs import InstanceFleetModifyConfigTypeDef

logger = logging.getLogger(__name__)


def _fleet_from(raw: Any) -> InstanceFleetCapacity | None:
    """Translate one ListInstanceFleets entry; unknown roles are skipped, unknown shapes refused."""
    role = raw.get("InstanceFleetType")
    if role not in GroupRole.__members__:
        return None
    state = raw.get("Status", {}).get("State", "")
    try:
        return InstanceFleetCapacity(
            fleet_id=raw["Id"],
            name=raw.get("Name") or raw["Id"],
            role=GroupRole(role),
            state=GroupState(state) if state in GroupState.__members__ else GroupState.ARRESTED,
            target_on_demand=int(raw.get("TargetOnDemandCapacity") or 0),
            target_spot=int(raw.get("TargetSpotCapacity") or 0),
            provisioned_on_demand=int(raw.get("ProvisionedOnDemandCapacity") or 0),
            provisioned_spot=int(raw.get("ProvisionedSpotCapacity") or 0),
            instance_types=tuple(
                FleetInstanceType(
                    instance_type=spec["InstanceType"], weighted_capacity=int(spec.get("WeightedCapacity") or 1)
                )
                for spec in raw.get("InstanceTypeSpecifications", [])
            ),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise ClusterUnreadableError(
            f"fleet {str(raw.get('Id'))[:40]} has a shape the scaler cannot read: {error}"
        ) from error


class EmrInstanceFleets:
    """EmrInstanceFleets reads and resizes instance fleets through one injected EMR client."""

    def __init__(self, client: EMRClient) -> None:
        self._client = client

    def instance_fleets(self, cluster_id: str) -> tuple[InstanceFleetCapacity, ...]:
        """Instance_fleets lists the cluster's fleets (all pages)."""
        fleets: list[InstanceFleetCapacity] = []
        with unreadable_when_refused("ListInstanceFleets"):
            for page in self._client.get_paginator("list_instance_fleets").paginate(ClusterId=cluster_id):
                for raw in page.get("InstanceFleets", []):
                    fleet = _fleet_from(raw)
                    if fleet is not None:
                        fleets.append(fleet)
        return tuple(fleets)

    def locate_instance(self, cluster_id: str, ec2_instance_id: str) -> InstanceLocation | None:
        """Locate_instance finds the EC2 instance among the cluster's running instances (ListInstances, all pages;
        https://docs.aws.amazon.com/emr/latest/APIReference/API_ListInstances.html)."""
        with unreadable_when_refused("ListInstances"):
            pages = self._client.get_paginator("list_instances").paginate(
                ClusterId=cluster_id,
                InstanceStates=["AWAITING_FULFILLMENT", "PROVISIONING", "BOOTSTRAPPING", "RUNNING"],
            )
            for page in pages:
                for raw in page.get("Instances", []):
                    if raw.get("Ec2InstanceId") == ec2_instance_id:
                        return InstanceLocation(
                            cluster_id=cluster_id,
                            ec2_instance_id=ec2_instance_id,
                            fleet_id=raw.get("InstanceFleetId") or None,
                            group_id=raw.get("InstanceGroupId") or None,
                            market=raw.get("Market") or "SPOT",
                            instance_type=raw.get("InstanceType") or "",
                        )
        return None

    def lost_instances(self, cluster_id: str, owner_id: str, since: datetime) -> tuple[InstanceLocation, ...]:
        """Lost_instances lists the group's or fleet's TERMINATED Spot instances that ended since `since`
        (ListInstances filters by InstanceGroupId or InstanceFleetId; the answer's `Status.Timeline.EndDateTime`)."""
        lost: list[InstanceLocation] = []
        with unreadable_when_refused("ListInstances"):
            paginator = self._client.get_paginator("list_instances")
            if owner_id.startswith("if-"):
                pages = paginator.paginate(
                    ClusterId=cluster_id, InstanceStates=["TERMINATED"], InstanceFleetId=owner_id
                )
            else:
                pages = paginator.paginate(
                    ClusterId=cluster_id, InstanceStates=["TERMINATED"], InstanceGroupId=owner_id
                )
            for page in pages:
                for raw in page.get("Instances", []):
                    ended = ((raw.get("Status") or {}).get("Timeline") or {}).get("EndDateTime")
                    ec2_id = raw.get("Ec2InstanceId")
                    if raw.get("Market") != "SPOT" or not isinstance(ended, datetime) or ended < since or not ec2_id:
                        continue
                    lost.append(
                        InstanceLocation(
                            cluster_id=cluster_id,
                            ec2_instance_id=ec2_id,
                            fleet_id=raw.get("InstanceFleetId") or None,
                            group_id=raw.get("InstanceGroupId") or None,
                            market="SPOT",
                            instance_type=raw.get("InstanceType") or "",
                        )
                    )
        return tuple(lost)

    def resize_fleets(self, cluster_id: str, commands: Sequence[ResizeInstanceFleet]) -> None:
        """Resize_fleets re-reads the fleets, then calls ModifyInstanceFleet once per command.

        Refuses (GroupMovedError) when a fleet is neither RUNNING nor RESIZING or its targets differ from what the
        decision saw: acting on an outdated picture could double a resize or undo someone else's.
        """
        if not commands:
            return
        current = {f.fleet_id: f for f in self.instance_fleets(cluster_id)}
        for command in commands:
            fleet = current.get(command.group_id)
            if fleet is None:
                raise GroupMovedError(f"fleet {command.group_id} is gone from cluster {cluster_id}")
            if fleet.state not in (GroupState.RUNNING, GroupState.RESIZING) or (
                fleet.target_on_demand,
                fleet.target_spot,
            ) != (command.from_on_demand, command.from_spot):
                raise GroupMovedError(
                    f"fleet {fleet.name} ({fleet.fleet_id}) moved since the decision: {fleet.state}, targets "
                    f"On-Demand {fleet.target_on_demand} / Spot {fleet.target_spot}, expected "
                    f"{command.from_on_demand} / {command.from_spot}"
                )
        for command in commands:
            item: InstanceFleetModifyConfigTypeDef = {
                "InstanceFleetId": command.group_id,
                "TargetOnDemandCapacity": command.to_on_demand,
                "TargetSpotCapacity": command.to_spot,
            }
            if command.spot_timeout_minutes is not None:
                item["ResizeSpecifications"] = {
                    "SpotResizeSpecification": {"TimeoutDurationMinutes": command.spot_timeout_minutes}
                }
            self._client.modify_instance_fleet(ClusterId=cluster_id, InstanceFleet=item)
            logger.info("fleet resize applied", extra={"cluster_id": cluster_id, "fleet": item})
