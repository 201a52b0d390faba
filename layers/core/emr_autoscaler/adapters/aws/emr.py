"""EmrInstanceGroups: the EmrClusters port over boto3's EMR client (instance-group clusters).

Only four calls are used: DescribeCluster, ListClusters, ListInstanceGroups, ModifyInstanceGroups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from emr_autoscaler.adapters.aws.emr_labels import node_labels_from
from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    ClusterState,
    GroupRole,
    GroupState,
    InstanceCollection,
    InstanceGroupCapacity,
)
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceGroup
from emr_autoscaler.scaling.ports import ClusterUnreadableError, GroupMovedError

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient

logger = logging.getLogger(__name__)

_NOT_FOUND_CODES = {"InvalidRequestException", "ResourceNotFoundException", "ClusterNotFound"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def unreadable_when_refused(operation: str) -> Iterator[None]:
    """Unreadable_when_refused turns EMR's InvalidRequestException on a read into ClusterUnreadableError.

    A fleet cluster answers ListInstanceGroups with "Instance fleet clusters are not supported by this API" (and a
    group cluster ListInstanceFleets likewise): asking again every minute will not change that, so it is a hold
    with its own reason, not a failed invocation. Other errors (throttling, outages) still raise, to be retried.
    """
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidRequestException":
            message = error.response.get("Error", {}).get("Message", "")
            raise ClusterUnreadableError(f"{operation} refused: {message[:200]}") from error
        raise


def _group_from(raw: Any) -> InstanceGroupCapacity | None:
    """Translate one ListInstanceGroups entry; fleets-only and unknown roles are skipped."""
    role = raw.get("InstanceGroupType")
    if role not in GroupRole.__members__:
        return None
    state = raw.get("Status", {}).get("State", "")
    return InstanceGroupCapacity(
        group_id=raw["Id"],
        name=raw.get("Name") or raw["Id"],
        role=GroupRole(role),
        instance_type=raw.get("InstanceType", ""),
        state=GroupState(state) if state in GroupState.__members__ else GroupState.ARRESTED,
        requested_count=int(raw.get("RequestedInstanceCount", 0)),
        running_count=int(raw.get("RunningInstanceCount", 0)),
        market="SPOT" if raw.get("Market") == "SPOT" else "ON_DEMAND",
        auto_scaling_policy=_auto_scaling_state(raw.get("AutoScalingPolicy")),
    )


def _auto_scaling_state(policy: Any) -> str | None:
    """The state of a group's custom automatic scaling policy (AutoScalingPolicyDescription.Status.State), None
    without one; a policy whose state cannot be read counts as attached (held, never ignored)."""
    if not policy:
        return None
    status = policy.get("Status") if isinstance(policy, dict) else None
    state = status.get("State") if isinstance(status, dict) else None
    return state if isinstance(state, str) and state else "UNKNOWN"


class EmrInstanceGroups:
    """EmrInstanceGroups reads clusters and resizes instance groups through one injected EMR client."""

    def __init__(self, client: EMRClient, clock: Callable[[], datetime] = _utcnow) -> None:
        self._client = client
        self._clock = clock

    def describe(self, cluster_id: str) -> ClusterSnapshot:
        """Describe returns the cluster's state, tags and master DNS (no groups); raises ClusterNotFoundError."""
        try:
            cluster = self._client.describe_cluster(ClusterId=cluster_id)["Cluster"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_FOUND_CODES:
                raise ClusterNotFoundError(f"EMR does not know cluster {cluster_id}") from error
            raise
        state = cluster.get("Status", {}).get("State", "")
        return ClusterSnapshot(
            cluster_id=cluster_id,
            name=cluster.get("Name", cluster_id),
            state=ClusterState(state) if state in ClusterState.__members__ else ClusterState.TERMINATED,
            tags={t["Key"]: t.get("Value", "") for t in cluster.get("Tags", []) if "Key" in t},
            # EMR gives the private DNS name here when the master has no public address (private subnets).
            master_private_dns=cluster.get("MasterPublicDnsName") or None,
            read_at=self._clock(),
            log_uri=cluster.get("LogUri") or None,
            step_concurrency_level=max(1, int(cluster.get("StepConcurrencyLevel") or 1)),
            # INSTANCE_FLEET or INSTANCE_GROUP (DescribeCluster, https://docs.aws.amazon.com/emr/latest/APIReference/
            # API_Cluster.html); absent in old answers, which predate fleets.
            collection=InstanceCollection(cluster.get("InstanceCollectionType") or "INSTANCE_GROUP")
            if cluster.get("InstanceCollectionType") in InstanceCollection.__members__
            else InstanceCollection.INSTANCE_GROUP,
            node_labels=node_labels_from(cluster.get("Configurations"), cluster.get("ReleaseLabel")),
        )

    def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
        """Instance_groups lists the cluster's instance groups (all pages)."""
        groups: list[InstanceGroupCapacity] = []
        with unreadable_when_refused("ListInstanceGroups"):
            for page in self._client.get_paginator("list_instance_groups").paginate(ClusterId=cluster_id):
                for raw in page.get("InstanceGroups", []):
                    group = _group_from(raw)
                    if group is not None:
                        groups.append(group)
        return tuple(groups)

    def list_active_cluster_ids(self) -> list[str]:
        """List_active_cluster_ids returns the ids of RUNNING and WAITING clusters (all pages)."""
        ids: list[str] = []
        for page in self._client.get_paginator("list_clusters").paginate(ClusterStates=["RUNNING", "WAITING"]):
            ids.extend(c["Id"] for c in page.get("Clusters", []) if "Id" in c)
        return ids

    def resize(self, cluster_id: str, commands: Sequence[ResizeInstanceGroup]) -> None:
        """Resize re-reads the groups and applies all commands in one ModifyInstanceGroups call.

        Refuses (GroupMovedError) when a group is neither RUNNING nor RESIZING (EMR takes a new count during a
        resize, "Interrupting a resize" in emr-manage-resize.html) or its requested count differs from what the
        decision saw: acting on an outdated picture could double a resize or undo someone else's.
        """
        if not commands:
            return
        current = {g.group_id: g for g in self.instance_groups(cluster_id)}
        for command in commands:
            group = current.get(command.group_id)
            if group is None:
                raise GroupMovedError(f"group {command.group_id} is gone from cluster {cluster_id}")
            if not group.resizable or group.requested_count != command.from_count:
                raise GroupMovedError(
                    f"group {group.name} ({group.group_id}) moved since the decision: {group.state}, "
                    f"running {group.running_count}, requested {group.requested_count}, expected {command.from_count}"
                )
        modifications: list[Any] = []
        for command in commands:
            item: dict[str, Any] = {"InstanceGroupId": command.group_id, "InstanceCount": command.to_count}
            if command.decommission_timeout_s is not None:
                item["ShrinkPolicy"] = {"DecommissionTimeout": command.decommission_timeout_s}
            modifications.append(item)
        self._client.modify_instance_groups(ClusterId=cluster_id, InstanceGroups=modifications)
        logger.info("resize applied", extra={"cluster_id": cluster_id, "groups": modifications})
