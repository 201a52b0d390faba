"""CloudWatchMetrics under moto (what it reads) and botocore's Stubber (the exact request it sends)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from emr_autoscaler.adapters.aws.cloudwatch import CloudWatchMetrics
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState, MetricsSource

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

CLUSTER_ID = "j-TESTCLUSTER01"
CONFIG = MetricsConfig(estimated_container_memory_mb=3072)
LOGGER = "emr_autoscaler.adapters.aws.cloudwatch"
# A healthy period on a 4 x m5.xlarge cluster: 40 GiB of 48 GiB allocated, 5 containers waiting.
HEALTHY = {
    "ContainerAllocated": 13.0,
    "ContainerPending": 5.0,
    "AppsRunning": 3.0,
    "AppsPending": 1.0,
    "MemoryAllocatedMB": 40960.0,
    "MemoryAvailableMB": 8192.0,
    "MemoryTotalMB": 49152.0,
    "MemoryReservedMB": 0.0,
    "HDFSUtilization": 42.5,
}


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture
def cloudwatch() -> Iterator[CloudWatchClient]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="eu-west-1")


def _snapshot(cluster_id: str = CLUSTER_ID) -> ClusterSnapshot:
    return ClusterSnapshot(cluster_id=cluster_id, name="nightly-etl", state=ClusterState.RUNNING, read_at=_now())


def _now() -> datetime:
    # moto serves whatever was put; "now" is real so the timestamps look like EMR's own.
    return datetime.now(UTC).replace(microsecond=0)


def _period_start(at: datetime) -> datetime:
    return datetime.fromtimestamp(int(at.timestamp()) // 300 * 300, tz=UTC)


def _publish(client: CloudWatchClient, at: datetime, values: dict[str, float], cluster_id: str = CLUSTER_ID) -> None:
    """Publish one datapoint per metric at `at`, as EMR does every five minutes."""
    client.put_metric_data(
        Namespace="AWS/ElasticMapReduce",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "JobFlowId", "Value": cluster_id}],
                "Timestamp": at,
                "Value": value,
            }
            for name, value in values.items()
        ],
    )


# --- under moto: what the adapter makes of the data ------------------------------------------------------------


def test_newest_complete_period_is_mapped_with_estimated_pending_memory(cloudwatch: CloudWatchClient) -> None:
    # GIVEN EMR published a period ten minutes ago and a busier one a minute ago
    now = _now()
    _publish(
        cloudwatch, now - timedelta(minutes=10), {**HEALTHY, "MemoryAllocatedMB": 8192.0, "MemoryAvailableMB": 40960.0}
    )
    _publish(cloudwatch, now - timedelta(minutes=1), HEALTHY)

    # WHEN the metrics are read
    metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN the newest period answers, stamped with its period so the core can judge its age
    assert metrics is not None
    assert metrics.source is MetricsSource.CLOUDWATCH
    assert metrics.observed_at == _period_start(now - timedelta(minutes=1))
    assert (metrics.apps_running, metrics.apps_pending) == (3, 1)
    assert (metrics.containers_allocated, metrics.containers_pending) == (13, 5)
    assert (metrics.allocated_memory_mb, metrics.available_memory_mb, metrics.total_memory_mb) == (40960, 8192, 49152)
    assert metrics.hdfs_utilization_pct == pytest.approx(42.5)
    # AND pending memory, which CloudWatch does not publish, is estimated from pending containers
    assert metrics.pending_memory_mb == 5 * 3072
    assert metrics.pending_estimated is True
    # AND what CloudWatch cannot know stays unknown
    assert metrics.allocated_vcores is None
    assert metrics.total_vcores is None
    assert metrics.pending_vcores is None
    assert metrics.active_nodes is None


def test_newest_period_missing_a_metric_falls_back_to_the_last_complete_one(cloudwatch: CloudWatchClient) -> None:
    # GIVEN the newest period has memory figures but not yet MemoryTotalMB, the one before is complete
    now = _now()
    _publish(cloudwatch, now - timedelta(minutes=10), HEALTHY)
    _publish(cloudwatch, now - timedelta(minutes=1), {k: v for k, v in HEALTHY.items() if k != "MemoryTotalMB"})

    # WHEN the metrics are read
    metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN the complete, older period answers (its age is for the core to judge)
    assert metrics is not None
    assert metrics.observed_at == _period_start(now - timedelta(minutes=10))
    assert metrics.total_memory_mb == 49152


def test_cluster_without_hdfs_still_answers(cloudwatch: CloudWatchClient) -> None:
    # GIVEN a cluster that stores everything in S3 and so publishes no HDFSUtilization
    now = _now()
    _publish(cloudwatch, now - timedelta(minutes=1), {k: v for k, v in HEALTHY.items() if k != "HDFSUtilization"})

    # WHEN the metrics are read
    metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN YARN figures answer and HDFS stays unknown
    assert metrics is not None
    assert metrics.hdfs_utilization_pct is None


def test_reserved_memory_is_read_and_its_absence_is_no_reservation(cloudwatch: CloudWatchClient) -> None:
    # GIVEN a saturated period: 40 GiB allocated, 8 GiB reserved for a container that does not fit, nothing free
    now = _now()
    saturated = {**HEALTHY, "MemoryAvailableMB": 0.0, "MemoryReservedMB": 8192.0}
    _publish(cloudwatch, now - timedelta(minutes=1), saturated)
    # AND another cluster whose periods carry no MemoryReservedMB at all
    _publish(
        cloudwatch,
        now - timedelta(minutes=1),
        {k: v for k, v in HEALTHY.items() if k != "MemoryReservedMB"},
        cluster_id="j-NORESERVED",
    )

    # WHEN both are read
    metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)
    other = CloudWatchMetrics(cloudwatch).read(_snapshot("j-NORESERVED"), CONFIG, now)

    # THEN the reservation is part of the answer (and counts as used memory)
    assert metrics is not None
    assert metrics.reserved_memory_mb == 8192
    assert metrics.memory_utilization_pct == pytest.approx(100.0)
    # AND a period without the metric still answers, as no reservation
    assert other is not None
    assert other.reserved_memory_mb == 0


def test_partial_data_is_none(cloudwatch: CloudWatchClient, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN EMR published no MemoryAvailableMB in the whole window
    now = _now()
    _publish(cloudwatch, now - timedelta(minutes=1), {k: v for k, v in HEALTHY.items() if k != "MemoryAvailableMB"})

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN there are no metrics, and the warning names what was missing
    assert metrics is None
    assert "MemoryAvailableMB" in caplog.text


def test_periods_that_never_overlap_are_none(cloudwatch: CloudWatchClient, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN memory figures from one period and container figures from another, never together
    now = _now()
    memory = {k: v for k, v in HEALTHY.items() if k.startswith("Memory")}
    _publish(cloudwatch, now - timedelta(minutes=10), memory)
    _publish(cloudwatch, now - timedelta(minutes=1), {k: v for k, v in HEALTHY.items() if k not in memory})

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN figures from different moments are not mixed
    assert metrics is None
    assert "no period has every metric" in caplog.text


def test_no_data_is_none(cloudwatch: CloudWatchClient, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN EMR published nothing for this cluster, only for another one
    now = _now()
    _publish(cloudwatch, now - timedelta(minutes=1), HEALTHY, cluster_id="j-OTHERCLUSTER")

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN there are no metrics, and the warning says so
    assert metrics is None
    assert CLUSTER_ID in caplog.text
    assert "no datapoint" in caplog.text


def test_data_older_than_the_window_is_none(cloudwatch: CloudWatchClient) -> None:
    # GIVEN the only datapoints are an hour old (the cluster stopped publishing)
    now = _now()
    _publish(cloudwatch, now - timedelta(hours=1), HEALTHY)

    # WHEN the metrics are read
    metrics = CloudWatchMetrics(cloudwatch).read(_snapshot(), CONFIG, now)

    # THEN nothing is found in the last ~20 minutes
    assert metrics is None


# --- under Stubber: the exact request, and errors -------------------------------------------------------------

NOW = datetime(2025, 3, 14, 12, 3, 27, tzinfo=UTC)
# 20 minutes before NOW is 11:43:27; aligned down to the five-minute period.
WINDOW_START = datetime(2025, 3, 14, 11, 40, 0, tzinfo=UTC)
EXPECTED_QUERIES = [
    ("containers_allocated", "ContainerAllocated", "Average"),
    ("containers_pending", "ContainerPending", "Maximum"),
    ("apps_running", "AppsRunning", "Maximum"),
    ("apps_pending", "AppsPending", "Maximum"),
    ("memory_allocated_mb", "MemoryAllocatedMB", "Average"),
    ("memory_available_mb", "MemoryAvailableMB", "Average"),
    ("memory_total_mb", "MemoryTotalMB", "Average"),
    ("memory_reserved_mb", "MemoryReservedMB", "Average"),
    ("hdfs_utilization_pct", "HDFSUtilization", "Maximum"),
]


def _expected_request() -> dict[str, Any]:
    return {
        "MetricDataQueries": [
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ElasticMapReduce",
                        "MetricName": name,
                        "Dimensions": [{"Name": "JobFlowId", "Value": CLUSTER_ID}],
                    },
                    "Period": 300,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            for query_id, name, stat in EXPECTED_QUERIES
        ],
        "StartTime": WINDOW_START,
        "EndTime": NOW,
        "ScanBy": "TimestampDescending",
    }


def _response(newest: datetime, older: datetime) -> dict[str, Any]:
    values = dict(zip([name for _, name, _ in EXPECTED_QUERIES], HEALTHY.values(), strict=True))
    return {
        "MetricDataResults": [
            {
                "Id": query_id,
                "Label": name,
                "Timestamps": [newest, older],
                "Values": [values[name], values[name]],
                "StatusCode": "Complete",
            }
            for query_id, name, _ in EXPECTED_QUERIES
        ],
        "Messages": [],
    }


def test_one_get_metric_data_call_with_every_query_newest_first() -> None:
    # GIVEN a CloudWatch client that expects exactly one GetMetricData request of this shape
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    newest = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
    with Stubber(client) as stubber:
        stubber.add_response("get_metric_data", _response(newest, newest - timedelta(minutes=5)), _expected_request())

        # WHEN the metrics are read
        metrics = CloudWatchMetrics(client).read(_snapshot(), CONFIG, NOW)

        # THEN the one expected call was made, and the newest datapoint answered
        stubber.assert_no_pending_responses()
    assert metrics is not None
    assert metrics.observed_at == newest
    assert metrics.total_memory_mb == 49152


@pytest.mark.parametrize("error_code", ["Throttling", "AccessDenied", "InvalidParameterValue"])
def test_client_error_is_none(error_code: str, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN CloudWatch refuses the call
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("get_metric_data", service_error_code=error_code, http_status_code=400)

        # WHEN the metrics are read
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            metrics = CloudWatchMetrics(client).read(_snapshot(), CONFIG, NOW)

    # THEN there are no metrics, nothing is raised, and the warning names the error
    assert metrics is None
    assert error_code in caplog.text


def test_results_cloudwatch_could_not_compute_count_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN CloudWatch answers, but could not compute MemoryTotalMB
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    newest = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
    response = _response(newest, newest - timedelta(minutes=5))
    for result in response["MetricDataResults"]:
        if result["Id"] == "memory_total_mb":
            result.update(Timestamps=[], Values=[], StatusCode="InternalError")
    with Stubber(client) as stubber:
        stubber.add_response("get_metric_data", response, _expected_request())

        # WHEN the metrics are read
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            metrics = CloudWatchMetrics(client).read(_snapshot(), CONFIG, NOW)

    # THEN there are no metrics, and the warning names the missing figure
    assert metrics is None
    assert "MemoryTotalMB" in caplog.text


def test_negative_figures_are_none(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN CloudWatch reports a negative pending container count (a broken publisher)
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    newest = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
    response = _response(newest, newest - timedelta(minutes=5))
    for result in response["MetricDataResults"]:
        if result["Id"] == "containers_pending":
            result["Values"] = [-3.0, -3.0]
    with Stubber(client) as stubber:
        stubber.add_response("get_metric_data", response, _expected_request())

        # WHEN the metrics are read
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            metrics = CloudWatchMetrics(client).read(_snapshot(), CONFIG, NOW)

    # THEN there are no metrics, and nothing is raised
    assert metrics is None
    assert "invalid" in caplog.text
