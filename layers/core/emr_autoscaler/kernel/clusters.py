"""What every job may ask about clusters: EMR's view of one (read only) and the registry of watched ones."""

from __future__ import annotations

from typing import Protocol

from emr_autoscaler.kernel.models import ClusterSnapshot, RegisteredCluster


class ClusterNotFoundError(LookupError):
    """ClusterNotFoundError: EMR does not know the cluster id."""


class ClusterReader(Protocol):
    """ClusterReader reads clusters from EMR; it never changes them."""

    def describe(self, cluster_id: str) -> ClusterSnapshot:
        """Describe returns the cluster's state, tags and master address, without groups.

        Raises ClusterNotFoundError when EMR does not know the id.
        """
        ...

    def list_active_cluster_ids(self) -> list[str]:
        """List_active_cluster_ids returns the ids of RUNNING and WAITING clusters."""
        ...


class RegisteredClusters(Protocol):
    """RegisteredClusters lists the watched clusters (the cluster watch keeps the registry; others read it)."""

    def registered(self) -> list[RegisteredCluster]:
        """Registered lists the watched clusters."""
        ...
