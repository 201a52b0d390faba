"""CloudWatchMetrics: YARN metrics read from CloudWatch's `AWS/ElasticMapReduce` namespace.

EMR publishes its YARN figures there every five minutes, so this source needs no network path to the master,
but its data is minutes old: each answer carries the timestamp of the datapoint it used, and the core judges
its age against `cloudwatch_max_age_s`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, MetricsSource, YarnMetrics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef, MetricDataResultTypeDef

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/ElasticMapReduce"
PERIOD_S = 300
# Four five-minute periods: enough to find a complete datapoint when EMR's newest one is late or partial.
WINDOW = timedelta(minutes=20)


@dataclass(frozen=True)
class _Query:
    """_Query is one EMR metric read, its GetMetricData id (lower-case, as the API requires) and statistic."""

    query_id: str
    metric_name: str
    stat: str


# Memory figures use Average: allocated + available only adds up to total when all three describe the same
# moments, and maxima taken separately from different samples would not (the core would call them contradictory).
# Demand figures use Maximum: a burst of pending work or HDFS use inside the period must not be averaged away,
# and a higher figure only makes the scaler quicker to add nodes and slower to remove them (the safe side).
_CONTAINERS_ALLOCATED = _Query("containers_allocated", "ContainerAllocated", "Average")
_CONTAINERS_PENDING = _Query("containers_pending", "ContainerPending", "Maximum")
_APPS_RUNNING = _Query("apps_running", "AppsRunning", "Maximum")
_APPS_PENDING = _Query("apps_pending", "AppsPending", "Maximum")
_MEMORY_ALLOCATED = _Query("memory_allocated_mb", "MemoryAllocatedMB", "Average")
_MEMORY_AVAILABLE = _Query("memory_available_mb", "MemoryAvailableMB", "Average")
_MEMORY_TOTAL = _Query("memory_total_mb", "MemoryTotalMB", "Average")
# "The amount of memory reserved" (EMR's YARN metrics in CloudWatch, "Metrics reported by Amazon EMR in CloudWatch",
# https://docs.aws.amazon.com/emr/latest/ManagementGuide/UsingEMR_ViewingMetrics.html). Average, like the other memory
# figures it must add up with (total = available + allocated + reserved under the CapacityScheduler).
_MEMORY_RESERVED = _Query("memory_reserved_mb", "MemoryReservedMB", "Average")
_HDFS_UTILIZATION = _Query("hdfs_utilization_pct", "HDFSUtilization", "Maximum")

QUERIES: tuple[_Query, ...] = (
    _CONTAINERS_ALLOCATED,
    _CONTAINERS_PENDING,
    _APPS_RUNNING,
    _APPS_PENDING,
    _MEMORY_ALLOCATED,
    _MEMORY_AVAILABLE,
    _MEMORY_TOTAL,
    _MEMORY_RESERVED,
    _HDFS_UTILIZATION,
)
# Every figure but HDFS and reserved memory must come from the same period; a cluster without HDFS (S3 only) has no
# HDFSUtilization, and a period without MemoryReservedMB is read as no reservation (the coherence check then still
# accepts the FairScheduler's sum, total = available + allocated).
_OPTIONAL = (_HDFS_UTILIZATION, _MEMORY_RESERVED)
_REQUIRED = tuple(q for q in QUERIES if q not in _OPTIONAL)


class CloudWatchMetrics:
    """CloudWatchMetrics reads a cluster's YARN metrics from CloudWatch with one GetMetricData call.

    A YarnMetricsReader. The client is injected, built by the composition root with the retry mode it wants
    (botocore retries throttling on its own; this adapter does not retry).
    """

    def __init__(self, client: CloudWatchClient):
        self._client = client

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        """Read returns the newest complete five-minute datapoint of the last ~20 minutes, or None (logged).

        `observed_at` is that datapoint's timestamp (the start of its period). CloudWatch has no pending memory:
        it is estimated as pending containers times `config.estimated_container_memory_mb` (MB).
        """
        cluster_id = snapshot.cluster_id
        # Aligning the start to the period keeps CloudWatch's buckets on five-minute boundaries (and is faster).
        start_epoch_s = int((now - WINDOW).timestamp()) // PERIOD_S * PERIOD_S
        start = datetime.fromtimestamp(start_epoch_s, tz=UTC)
        try:
            response = self._client.get_metric_data(
                MetricDataQueries=[_metric_query(query, cluster_id) for query in QUERIES],
                StartTime=start,
                EndTime=now,
                ScanBy="TimestampDescending",
            )
        except (ClientError, BotoCoreError) as error:
            _warn_unavailable(cluster_id, f"GetMetricData failed ({error})")
            return None
        series = _series_by_id(response["MetricDataResults"])
        common = set.intersection(*(set(series.get(q.query_id, {})) for q in _REQUIRED))
        if not common:
            missing = [q.metric_name for q in _REQUIRED if not series.get(q.query_id)]
            detail = f"no datapoint for {', '.join(missing)}" if missing else "no period has every metric"
            _warn_unavailable(cluster_id, f"{detail} in the last {WINDOW.total_seconds() / 60:.0f} minutes")
            return None
        newest = max(common)

        def value(query: _Query) -> int:
            return round(series[query.query_id][newest])

        containers_pending = value(_CONTAINERS_PENDING)
        try:
            return YarnMetrics(
                source=MetricsSource.CLOUDWATCH,
                observed_at=newest,
                apps_running=value(_APPS_RUNNING),
                apps_pending=value(_APPS_PENDING),
                containers_allocated=value(_CONTAINERS_ALLOCATED),
                containers_pending=containers_pending,
                allocated_memory_mb=value(_MEMORY_ALLOCATED),
                available_memory_mb=value(_MEMORY_AVAILABLE),
                total_memory_mb=value(_MEMORY_TOTAL),
                pending_memory_mb=containers_pending * config.estimated_container_memory_mb,
                hdfs_utilization_pct=series.get(_HDFS_UTILIZATION.query_id, {}).get(newest),
                pending_estimated=True,
                reserved_memory_mb=round(series.get(_MEMORY_RESERVED.query_id, {}).get(newest, 0.0)),
            )
        except ValidationError as error:
            _warn_unavailable(cluster_id, f"CloudWatch figures at {newest.isoformat()} are invalid ({error})")
            return None


def _metric_query(query: _Query, cluster_id: str) -> MetricDataQueryTypeDef:
    return {
        "Id": query.query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": query.metric_name,
                "Dimensions": [{"Name": "JobFlowId", "Value": cluster_id}],
            },
            "Period": PERIOD_S,
            "Stat": query.stat,
        },
        "ReturnData": True,
    }


def _series_by_id(results: list[MetricDataResultTypeDef]) -> dict[str, dict[datetime, float]]:
    """Map each query id to its datapoints by timestamp; results CloudWatch could not compute count as missing."""
    series: dict[str, dict[datetime, float]] = {}
    for result in results:
        if result.get("StatusCode") in ("InternalError", "Forbidden"):
            continue
        points = dict(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
        series.setdefault(result.get("Id", ""), {}).update(points)
    return series


def _warn_unavailable(cluster_id: str, reason: str) -> None:
    logger.warning("CloudWatch metrics unavailable for %s: %s", cluster_id, reason)
