"""Cluster watch: operating modes, and the CloudWatch alarms each registered cluster should have.

Pure: the desired alarms follow from the cluster id, the profile's thresholds and the alarm prefix; the
reconcile plan is the difference between desired and existing alarms. An adapter applies it.
"""

from __future__ import annotations

from emr_autoscaler.kernel.config.alarms import AlarmThresholds
from emr_autoscaler.kernel.models import ACTIVE_CLUSTER_STATES, ClusterState, Frozen

EMR_NAMESPACE = "AWS/ElasticMapReduce"
# Cluster states in which a cluster is registered and watched (alarms exist); terminal ones unregister it.
WATCHED_STATES = frozenset({ClusterState.STARTING, ClusterState.BOOTSTRAPPING, *ACTIVE_CLUSTER_STATES})
TERMINAL_STATES = frozenset({ClusterState.TERMINATED, ClusterState.TERMINATED_WITH_ERRORS})


class AlarmSpec(Frozen):
    """AlarmSpec is one CloudWatch alarm as the autoscaler wants it (what PutMetricAlarm needs)."""

    name: str
    metric_name: str
    comparison: str
    threshold: float
    evaluation_periods: int
    period_s: int
    statistic: str
    cluster_id: str
    description: str


def alarm_name(prefix: str, cluster_id: str, metric_name: str) -> str:
    """Alarm_name is `<prefix><cluster id>-<metric>`: the scaler's rule matches the prefix, the name the cluster."""
    return f"{prefix}{cluster_id}-{metric_name}"


def desired_alarms(cluster_id: str, thresholds: AlarmThresholds, prefix: str) -> tuple[AlarmSpec, ...]:
    """Desired_alarms lists the alarms a watched cluster should have under its profile's thresholds."""
    period = thresholds.period_s
    wanted: list[tuple[str, str, float | None, int, str, str]] = [
        (
            "ContainerPendingRatio",
            "GreaterThanThreshold",
            thresholds.container_pending_ratio_high,
            1,
            "Average",
            "YARN containers wait for capacity: scale out",
        ),
        (
            "YARNMemoryAvailablePercentage",
            "LessThanThreshold",
            thresholds.yarn_memory_available_low_pct,
            1,
            "Average",
            "YARN memory nearly exhausted: scale out",
        ),
        (
            "IsIdle",
            "GreaterThanOrEqualToThreshold",
            1.0 if thresholds.idle_periods is not None else None,
            thresholds.idle_periods or 1,
            "Minimum",
            "cluster idle: scale TASK groups in",
        ),
        (
            "HDFSUtilization",
            "GreaterThanThreshold",
            thresholds.hdfs_utilization_high_pct,
            1,
            "Maximum",
            "HDFS filling up: CORE must not shrink",
        ),
        (
            "MRUnhealthyNodes",
            "GreaterThanThreshold",
            None if thresholds.unhealthy_nodes_high is None else float(thresholds.unhealthy_nodes_high),
            1,
            "Maximum",
            "unhealthy YARN nodes",
        ),
        (
            "MRLostNodes",
            "GreaterThanThreshold",
            None if thresholds.lost_nodes_high is None else float(thresholds.lost_nodes_high),
            1,
            "Maximum",
            "lost YARN nodes",
        ),
    ]
    return tuple(
        AlarmSpec(
            name=alarm_name(prefix, cluster_id, metric),
            metric_name=metric,
            comparison=comparison,
            threshold=float(threshold),
            evaluation_periods=periods,
            period_s=period,
            statistic=statistic,
            cluster_id=cluster_id,
            description=f"emr-autoscaler: {why} ({cluster_id})",
        )
        for metric, comparison, threshold, periods, statistic, why in wanted
        if threshold is not None
    )


class AlarmChanges(Frozen):
    """AlarmChanges is what to create or update (`put`) and what to delete to reach the desired alarms."""

    put: tuple[AlarmSpec, ...] = ()
    delete: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Empty is true when the existing alarms already match."""
        return not self.put and not self.delete


def plan_alarm_changes(desired: tuple[AlarmSpec, ...], existing: dict[str, AlarmSpec]) -> AlarmChanges:
    """Plan_alarm_changes diffs desired alarms against existing ones (by name); equal alarms are left alone."""
    wanted = {a.name: a for a in desired}
    put = tuple(a for name, a in wanted.items() if existing.get(name) != a)
    delete = tuple(sorted(name for name in existing if name not in wanted))
    return AlarmChanges(put=put, delete=delete)
