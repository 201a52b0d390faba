"""Ports of the cluster watch: the registry it keeps and the alarms it manages. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from emr_autoscaler.kernel.clusters import RegisteredClusters
from emr_autoscaler.kernel.models import RegisteredCluster
from emr_autoscaler.watch.domain.alarms import AlarmSpec


class ClusterRegistry(RegisteredClusters, Protocol):
    """ClusterRegistry keeps the set of watched clusters."""

    def register(self, cluster: RegisteredCluster) -> None:
        """Register adds or refreshes a cluster."""
        ...

    def unregister(self, cluster_id: str) -> None:
        """Unregister removes a cluster (idempotent)."""
        ...


class AlarmManager(Protocol):
    """AlarmManager reads and writes one cluster's alarms."""

    def existing(self, cluster_id: str) -> dict[str, AlarmSpec]:
        """Existing returns the cluster's alarms by name."""
        ...

    def put(self, alarm: AlarmSpec) -> None:
        """Put creates or updates one alarm."""
        ...

    def delete(self, names: Sequence[str]) -> None:
        """Delete removes alarms by name."""
        ...
