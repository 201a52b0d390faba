"""What the policies see: YARN metrics as the ResourceManager reports them, and as CloudWatch does.

- ResourceManager (`/ws/v1/cluster/metrics`): the cluster's counters at the moment of the read, with vcores,
  pending memory and vcores, and active nodes (running plus decommissioning, whose memory is in the totals).
- CloudWatch (`AWS/ElasticMapReduce`): EMR samples the ResourceManager every `sample_s` (60 s) and publishes
  one datapoint per `period_s` (300 s), here the period's mean, visible `delay_s` (120 s) after the period
  ends. It has no vcores and no pending memory: the pending memory is estimated from the pending container
  count, as the CloudWatch adapter does (`pending_estimated`). HDFSUtilization comes only from CloudWatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from emr_autoscaler.kernel.models import MetricsSource, YarnMetrics
from emr_autoscaler_dev.sim.cluster import SimCluster

# Simulated time zero: any fixed instant works; the policies only compare times.
EPOCH = datetime(2009, 10, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """At converts simulated seconds into the datetime the core reasons with."""
    return EPOCH + timedelta(seconds=seconds)


def resourcemanager_metrics(cluster: SimCluster, now_s: float) -> YarnMetrics:
    """Resourcemanager_metrics is what `/ws/v1/cluster/metrics` would answer now (MB, vcores).

    With AMs pinned to CORE (`ClusterSpec.am_label`), the waiting AMs ask the CORE partition: they are left out of
    the pending figures (the default partition's, as the RM reports them) and given as the label partition's pending
    memory, as the scheduler's per-partition usage reports it.
    """
    labelled = cluster.spec.am_label is not None
    am_mb = cluster.pending_am_mb if labelled else 0
    am_count = sum(r.count for r in cluster.pending_am) if labelled else 0
    am_vcores = sum(r.count * r.vcores for r in cluster.pending_am) if labelled else 0
    return YarnMetrics(
        source=MetricsSource.RESOURCE_MANAGER,
        observed_at=at(now_s),
        apps_running=cluster.apps_running,
        apps_pending=cluster.apps_pending,
        containers_allocated=cluster.containers_allocated,
        containers_pending=cluster.containers_pending - am_count,
        allocated_memory_mb=cluster.allocated_mb,
        available_memory_mb=cluster.total_mb - cluster.allocated_mb,
        total_memory_mb=cluster.total_mb,
        pending_memory_mb=cluster.pending_mb - am_mb,
        allocated_vcores=cluster.allocated_vcores,
        available_vcores=cluster.total_vcores - cluster.allocated_vcores,
        total_vcores=cluster.total_vcores,
        pending_vcores=max(0, cluster.pending_vcores - am_vcores),
        active_nodes=cluster.active_nodes,
        am_pending_memory_mb=am_mb if labelled else None,
    )


@dataclass(frozen=True, slots=True)
class Datapoint:
    """Datapoint is one CloudWatch period's mean of the EMR metrics (MB, counts), stamped at the period's end (s)."""

    period_end_s: float
    visible_s: float
    apps_running: float
    apps_pending: float
    containers_allocated: float
    containers_pending: float
    allocated_mb: float
    total_mb: float
    hdfs_utilization_pct: float

    @property
    def yarn_memory_available_pct(self) -> float:
        """Yarn_memory_available_pct is EMR's YARNMemoryAvailablePercentage (0 when there is no memory)."""
        return 100.0 * (self.total_mb - self.allocated_mb) / self.total_mb if self.total_mb else 0.0

    @property
    def container_pending_ratio(self) -> float:
        """Container_pending_ratio is EMR's ContainerPendingRatio: pending over allocated containers."""
        if self.containers_allocated:
            return self.containers_pending / self.containers_allocated
        return float(self.containers_pending)

    def yarn_metrics(self, estimated_container_memory_mb: int) -> YarnMetrics:
        """Yarn_metrics is the datapoint as the core's CloudWatch source reads it (no vcores, pending estimated)."""
        allocated = round(self.allocated_mb)
        total = round(self.total_mb)
        pending = round(self.containers_pending)
        return YarnMetrics(
            source=MetricsSource.CLOUDWATCH,
            observed_at=at(self.period_end_s),
            apps_running=round(self.apps_running),
            apps_pending=round(self.apps_pending),
            containers_allocated=round(self.containers_allocated),
            containers_pending=pending,
            allocated_memory_mb=allocated,
            available_memory_mb=total - allocated,
            total_memory_mb=total,
            pending_memory_mb=pending * estimated_container_memory_mb,
            hdfs_utilization_pct=self.hdfs_utilization_pct,
            pending_estimated=True,
        )


class CloudWatchFeed:
    """CloudWatchFeed aggregates the cluster's per-minute samples into delayed 5-minute datapoints."""

    def __init__(self, period_s: float = 300.0, delay_s: float = 120.0, sample_s: float = 60.0) -> None:
        self.period_s = period_s
        self.delay_s = delay_s
        self.sample_s = sample_s
        self.published: list[Datapoint] = []
        self._sums = [0.0] * 6
        self._samples = 0
        self._period_start_s = 0.0

    def sample(self, cluster: SimCluster, now_s: float) -> None:
        """Sample records the cluster at `now_s` (every `sample_s`), closing a period when it is complete."""
        if now_s >= self._period_start_s + self.period_s and self._samples:
            self._close(cluster)
        values = (
            cluster.apps_running,
            cluster.apps_pending,
            cluster.containers_allocated,
            cluster.containers_pending,
            cluster.allocated_mb,
            cluster.total_mb,
        )
        for i, value in enumerate(values):
            self._sums[i] += value
        self._samples += 1

    def _close(self, cluster: SimCluster) -> None:
        n = self._samples
        end_s = self._period_start_s + self.period_s
        s = self._sums
        self.published.append(
            Datapoint(
                period_end_s=end_s,
                visible_s=end_s + self.delay_s,
                apps_running=s[0] / n,
                apps_pending=s[1] / n,
                containers_allocated=s[2] / n,
                containers_pending=s[3] / n,
                allocated_mb=s[4] / n,
                total_mb=s[5] / n,
                hdfs_utilization_pct=cluster.spec.hdfs_utilization_pct,
            )
        )
        self._sums = [0.0] * 6
        self._samples = 0
        self._period_start_s = end_s

    def latest(self, now_s: float) -> Datapoint | None:
        """Latest is the newest datapoint visible at `now_s`, or None before the first one."""
        for point in reversed(self.published):
            if point.visible_s <= now_s:
                return point
        return None
