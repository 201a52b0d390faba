"""ResourceManagerMetrics: YARN metrics read live from the ResourceManager REST API on the master node.

`GET http://<master private DNS>:8088/ws/v1/cluster/metrics` answers with the `clusterMetrics` object documented
in Hadoop's "ResourceManager REST API's" (memory in MB, CPU in vcores). It is fresh, but needs network access to
the master (a Lambda in the cluster's VPC). Any failure is logged and answered with None, so the metrics chain
can fall back to CloudWatch and the core can hold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emr_autoscaler.adapters.yarn.active_rm import ActiveResourceManagers, Primaries
from emr_autoscaler.adapters.yarn.rest import ResourceManagerUnansweredError, get_json
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, MetricsSource, YarnMetrics

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8088
METRICS_PATH = "/ws/v1/cluster/metrics"
# The CapacityScheduler's queues, each leaf with its resource usage per partition (`resources.
# resourceUsagesByPartition`: partitionName, used, reserved, pending, amUsed, ...; YARN-4162, "Cluster Scheduler
# API" in Hadoop's "ResourceManager REST API's"). `/ws/v1/cluster/metrics` reports the default partition only
# (YARN-11965), so what waits in the AMs' label partition is read here.
SCHEDULER_PATH = "/ws/v1/cluster/scheduler"


class _ClusterMetrics(BaseModel):
    """_ClusterMetrics is the part of the RM's `clusterMetrics` object the scaler uses (memory in MB).

    Strict: a string or float where the REST API documents an int means a broken or foreign answer.
    `pendingMB`/`pendingVirtualCores` are absent on older Hadoop 2 ResourceManagers. `reservedMB` and
    `reservedVirtualCores` are documented for every release ("Cluster Metrics API"), yet are read as optional (0)
    so an answer without them is still usable.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, defer_build=True)

    apps_pending: int = Field(alias="appsPending", ge=0)
    apps_running: int = Field(alias="appsRunning", ge=0)
    containers_allocated: int = Field(alias="containersAllocated", ge=0)
    containers_pending: int = Field(alias="containersPending", ge=0)
    allocated_mb: int = Field(alias="allocatedMB", ge=0)
    available_mb: int = Field(alias="availableMB", ge=0)
    total_mb: int = Field(alias="totalMB", ge=0)
    pending_mb: int | None = Field(default=None, alias="pendingMB", ge=0)
    allocated_vcores: int = Field(alias="allocatedVirtualCores", ge=0)
    available_vcores: int = Field(alias="availableVirtualCores", ge=0)
    total_vcores: int = Field(alias="totalVirtualCores", ge=0)
    pending_vcores: int | None = Field(default=None, alias="pendingVirtualCores", ge=0)
    reserved_mb: int = Field(default=0, alias="reservedMB", ge=0)
    reserved_vcores: int | None = Field(default=None, alias="reservedVirtualCores", ge=0)
    active_nodes: int = Field(alias="activeNodes", ge=0)


class _MetricsResponse(BaseModel):
    """_MetricsResponse is the body of `/ws/v1/cluster/metrics`: one `clusterMetrics` object."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, defer_build=True)

    cluster_metrics: _ClusterMetrics = Field(alias="clusterMetrics")


class ResourceManagerMetrics:
    """ResourceManagerMetrics reads YARN metrics from the cluster's ResourceManager REST API (a YarnMetricsReader).

    `port` is the RM web port (8088 on EMR). `url_for` overrides where the metrics are read (the sandbox's RM
    emulator, tests); it returns the full URL of `/ws/v1/cluster/metrics`, or None when there is none, and follows
    no redirect. Without it, the metrics are read from the cluster's active ResourceManager: the master DNS name first,
    then, on a cluster with several primary nodes, the one the standby names (if it is a primary node of the cluster,
    from `primaries`) or the one that says it is active (ActiveResourceManagers).
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        url_for: Callable[[ClusterSnapshot], str | None] | None = None,
        primaries: Primaries | None = None,
    ):
        self._port = port
        self._url_for = url_for
        # Without a URL override, the cluster's active RM among its primary nodes (see active_rm.py).
        self._active = ActiveResourceManagers(port, primaries)

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        """Read returns the RM's live metrics stamped `now`, or None (logged) when the RM cannot answer.

        The RM request times out after `config.resourcemanager_timeout_s` seconds (per connect and per read).
        Without `pendingMB` (Hadoop 2), pending memory is estimated as containersPending times
        `config.estimated_container_memory_mb`.
        """
        try:
            if self._url_for is None:
                url = METRICS_PATH
                document = self._active.get(snapshot, METRICS_PATH, config.resourcemanager_timeout_s)
            else:
                found = self._url_for(snapshot)
                if found is None:
                    raise ResourceManagerUnansweredError("no ResourceManager URL (the cluster has no address yet)")
                url = found
                document = get_json(url, config.resourcemanager_timeout_s)
        except ResourceManagerUnansweredError as error:
            self._warn_unavailable(snapshot, error.reason)
            return None
        if not isinstance(document, dict) or "clusterMetrics" not in document:
            self._warn_unavailable(snapshot, f"{url} answered without a clusterMetrics object")
            return None
        try:
            metrics = _MetricsResponse.model_validate(document).cluster_metrics
        except ValidationError as error:
            self._warn_unavailable(snapshot, f"{url} answered with invalid clusterMetrics: {_brief(error)}")
            return None
        yarn = _to_yarn_metrics(metrics, config, now)
        labels = snapshot.node_labels
        if labels.am_label is None or labels.unreadable is not None:
            return yarn
        return yarn.model_copy(update={"am_pending_memory_mb": self._partition_pending_mb(snapshot, config)})

    def _partition_pending_mb(self, snapshot: ClusterSnapshot, config: MetricsConfig) -> int | None:
        """Memory pending in the AM label's partition, summed over the scheduler's leaf queues; None (logged) when
        the RM does not say (another scheduler, an older RM, no answer): pending AMs are then counted from
        appsPending."""
        label = snapshot.node_labels.am_label
        try:
            if self._url_for is None:
                document = self._active.get(snapshot, SCHEDULER_PATH, config.resourcemanager_timeout_s)
            else:
                url = self._url_for(snapshot)
                if url is None:
                    return None
                document = get_json(url.replace(METRICS_PATH, SCHEDULER_PATH), config.resourcemanager_timeout_s)
        except ResourceManagerUnansweredError as error:
            logger.info("no per-partition usage for %s: %s", snapshot.cluster_id, error.reason)
            return None
        info = ((document or {}).get("scheduler") or {}).get("schedulerInfo") if isinstance(document, dict) else None
        if not isinstance(info, dict):
            logger.info("no per-partition usage for %s: the RM answered without schedulerInfo", snapshot.cluster_id)
            return None
        total = _partition_pending(info, label or "")
        if total is None:
            logger.info("no per-partition usage for %s: no leaf queue reports partition %s", snapshot.cluster_id, label)
        return total

    @staticmethod
    def _warn_unavailable(snapshot: ClusterSnapshot, reason: str) -> None:
        logger.warning("ResourceManager metrics unavailable for %s: %s", snapshot.cluster_id, reason)


def _to_yarn_metrics(metrics: _ClusterMetrics, config: MetricsConfig, now: datetime) -> YarnMetrics:
    pending_estimated = metrics.pending_mb is None
    pending_memory_mb = (
        metrics.containers_pending * config.estimated_container_memory_mb
        if metrics.pending_mb is None
        else metrics.pending_mb
    )
    return YarnMetrics(
        source=MetricsSource.RESOURCE_MANAGER,
        observed_at=now,
        apps_running=metrics.apps_running,
        apps_pending=metrics.apps_pending,
        containers_allocated=metrics.containers_allocated,
        containers_pending=metrics.containers_pending,
        allocated_memory_mb=metrics.allocated_mb,
        available_memory_mb=metrics.available_mb,
        total_memory_mb=metrics.total_mb,
        pending_memory_mb=pending_memory_mb,
        allocated_vcores=metrics.allocated_vcores,
        available_vcores=metrics.available_vcores,
        total_vcores=metrics.total_vcores,
        pending_vcores=metrics.pending_vcores,
        active_nodes=metrics.active_nodes,
        pending_estimated=pending_estimated,
        reserved_memory_mb=metrics.reserved_mb,
        reserved_vcores=metrics.reserved_vcores,
    )


def _partition_pending(queue: dict[str, Any], partition: str) -> int | None:
    """Pending memory (MB) of `partition` summed over the leaf queues under `queue`; None when none reports it."""
    children = ((queue.get("queues") or {}).get("queue")) or []
    if isinstance(children, dict):
        children = [children]
    if children:
        parts = [_partition_pending(child, partition) for child in children if isinstance(child, dict)]
        known = [p for p in parts if p is not None]
        return sum(known) if known else None
    usages = ((queue.get("resources") or {}).get("resourceUsagesByPartition")) or []
    for usage in usages if isinstance(usages, list) else []:
        if isinstance(usage, dict) and usage.get("partitionName") == partition:
            memory = (usage.get("pending") or {}).get("memory")
            return memory if isinstance(memory, int) and memory >= 0 else None
    return None


def _brief(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
