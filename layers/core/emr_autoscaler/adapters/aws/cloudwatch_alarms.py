"""CloudWatchAlarms: the per-cluster alarms, through DescribeAlarms, PutMetricAlarm and DeleteAlarms.

The alarms have no actions: CloudWatch sends every state change to EventBridge, where the scaler's rule matches
their name prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emr_autoscaler.watch.domain.alarms import EMR_NAMESPACE, AlarmSpec

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

logger = logging.getLogger(__name__)
_DELETE_BATCH = 100  # DeleteAlarms takes at most 100 names


def _spec_from(raw: Any, cluster_id: str) -> AlarmSpec:
    try:
        return AlarmSpec(
            name=raw["AlarmName"],
            metric_name=raw["MetricName"],
            comparison=raw["ComparisonOperator"],
            threshold=float(raw["Threshold"]),
            evaluation_periods=int(raw["EvaluationPeriods"]),
            period_s=int(raw["Period"]),
            statistic=raw["Statistic"],
            cluster_id=cluster_id,
            description=raw.get("AlarmDescription", ""),
        )
    except (KeyError, TypeError, ValueError):
        # An alarm someone edited into another shape (metric math, extended statistic) is rewritten by the diff.
        return AlarmSpec(
            name=raw.get("AlarmName", "?"),
            metric_name="?",
            comparison="?",
            threshold=0.0,
            evaluation_periods=0,
            period_s=0,
            statistic="?",
            cluster_id=cluster_id,
            description="",
        )


class CloudWatchAlarms:
    """CloudWatchAlarms manages alarms named `<prefix><cluster id>-<metric>`."""

    def __init__(self, client: CloudWatchClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def existing(self, cluster_id: str) -> dict[str, AlarmSpec]:
        """Existing returns the cluster's alarms by name (one DescribeAlarms call per 100 alarms)."""
        found: dict[str, AlarmSpec] = {}
        for page in self._client.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=f"{self._prefix}{cluster_id}-", AlarmTypes=["MetricAlarm"]
        ):
            for raw in page.get("MetricAlarms", []):
                spec = _spec_from(raw, cluster_id)
                found[spec.name] = spec
        return found

    def put(self, alarm: AlarmSpec) -> None:
        """Put creates or updates one alarm on the cluster's `AWS/ElasticMapReduce` metric."""
        self._client.put_metric_alarm(
            AlarmName=alarm.name,
            AlarmDescription=alarm.description,
            Namespace=EMR_NAMESPACE,
            MetricName=alarm.metric_name,
            Dimensions=[{"Name": "JobFlowId", "Value": alarm.cluster_id}],
            Statistic=alarm.statistic,  # type: ignore[arg-type]
            Period=alarm.period_s,
            EvaluationPeriods=alarm.evaluation_periods,
            Threshold=alarm.threshold,
            ComparisonOperator=alarm.comparison,  # type: ignore[arg-type]
            # No data (a cluster starting, a metric EMR does not publish) must not page anyone or wake the scaler.
            TreatMissingData="notBreaching",
            Tags=[{"Key": "emr-autoscaler:cluster", "Value": alarm.cluster_id}],
        )

    def delete(self, names: Sequence[str]) -> None:
        """Delete removes the named alarms (in batches of 100)."""
        for start in range(0, len(names), _DELETE_BATCH):
            self._client.delete_alarms(AlarmNames=list(names[start : start + _DELETE_BATCH]))
