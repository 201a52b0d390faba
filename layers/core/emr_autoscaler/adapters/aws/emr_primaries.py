"""EmrPrimaryNodes: the private addresses of a cluster's primary (MASTER) nodes, from EMR's ListInstances.

A cluster with three primary nodes runs a ResourceManager on each, one active and two standby ("Features that
support high availability in an Amazon EMR cluster", https://docs.aws.amazon.com/emr/latest/ManagementGuide/
emr-plan-ha-applications.html). These addresses are the only ones the ResourceManager client may be sent to: an
answer that points elsewhere (a redirect, an event) is never trusted. ListInstances takes `InstanceGroupTypes` on an
instance-group cluster and `InstanceFleetType` on an instance-fleet one
(https://docs.aws.amazon.com/emr/latest/APIReference/API_ListInstances.html).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emr_autoscaler.adapters.aws.emr import unreadable_when_refused
from emr_autoscaler.kernel.models import ClusterSnapshot, InstanceCollection

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient


class EmrPrimaryNodes:
    """EmrPrimaryNodes lists the private IP addresses and DNS names of a cluster's running primary nodes."""

    def __init__(self, client: EMRClient) -> None:
        self._client = client

    def addresses(self, snapshot: ClusterSnapshot) -> tuple[tuple[str, ...], ...]:
        """Addresses returns each running primary node's names: its PrivateIpAddress, then PrivateDnsName (all
        pages)."""
        role: dict[str, Any] = (
            {"InstanceFleetType": "MASTER"}
            if snapshot.collection is InstanceCollection.INSTANCE_FLEET
            else {"InstanceGroupTypes": ["MASTER"]}
        )
        found: list[tuple[str, ...]] = []
        with unreadable_when_refused("ListInstances"):
            pages = self._client.get_paginator("list_instances").paginate(
                ClusterId=snapshot.cluster_id, InstanceStates=["RUNNING"], **role
            )
            for page in pages:
                for raw in page.get("Instances", []):
                    names = tuple(str(raw[k]) for k in ("PrivateIpAddress", "PrivateDnsName") if raw.get(k))
                    if names:
                        found.append(names)
        return tuple(found)
