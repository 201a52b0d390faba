"""The scaler's Lambda handler with every sample event, on an in-process AWS (moto), as Lambda would call it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emr_autoscaler import bootstrap
from emr_autoscaler.settings import Settings
from emr_autoscaler.watch.triggers import parse_watch_trigger
from emr_autoscaler_dev.sandbox.provision import create_cluster
from tests.conftest import FakeContext, load_event, load_handler, moto_app

# CloudWatch only: moto's master DNS name does not resolve here, and the RM source is tested on its own.
CONFIG = "version: 1\ndefaults:\n  metrics: {sources: [cloudwatch]}\n"
SETTINGS = Settings(config_parameter="/test/config", state_table="test-state")
# The loaded cluster: 20 containers waiting on four 12288 MB nodes. CloudWatch counts containers only, so the
# scaler sizes each at metrics.estimated_container_memory_mb (2048 MB): 40960 MB, four more TASK nodes (2 -> 6).
PENDING = 20
NODE_MB = 12288
LOADED_TASK_NODES = 2 + math.ceil(PENDING * 2048 / NODE_MB)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_app(monkeypatch, SETTINGS, CONFIG, POWERTOOLS_SERVICE_NAME="emr-autoscaler") as session:
        yield session


def _put_load(session: Any, cluster_id: str, *, pending: int, allocated_mb: int, total_mb: int) -> None:
    at = datetime.now(UTC) - timedelta(minutes=2)
    values = {
        "ContainerAllocated": allocated_mb // 2048,
        "ContainerPending": pending,
        "AppsRunning": 2,
        "AppsPending": 1 if pending else 0,
        "MemoryAllocatedMB": allocated_mb,
        "MemoryAvailableMB": total_mb - allocated_mb,
        "MemoryTotalMB": total_mb,
        "HDFSUtilization": 20,
    }
    session.client("cloudwatch").put_metric_data(
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


def _task_count(session: Any, cluster_id: str) -> int:
    groups = session.client("emr").list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    return int(next(g["RequestedInstanceCount"] for g in groups if g["InstanceGroupType"] == "TASK"))


def _register(cluster_id: str) -> None:
    """The cluster watch registers the cluster, as its RUNNING state change would."""
    event = _with_cluster(load_event("cluster_state_change_running.json"), cluster_id)
    bootstrap.cluster_watch().handle(parse_watch_trigger(event))


def _with_cluster(event: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    detail = event["detail"]
    if "clusterId" in detail:
        detail["clusterId"] = cluster_id
    if "alarmName" in detail:
        detail["alarmName"] = f"emr-autoscaler-{cluster_id}-ContainerPendingRatio"
        detail["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["JobFlowId"] = cluster_id
    return event


@pytest.mark.parametrize(
    "sample", ["scheduled_tick.json", "alarm_state_change.json", "instance_group_state_change.json"]
)
def test_each_trigger_scales_out_a_loaded_cluster(aws: Any, sample: str) -> None:
    # GIVEN an opted-in cluster whose YARN has 20 containers waiting (CloudWatch)
    cluster_id = create_cluster(aws.client("emr"), core=2, task=2)
    _register(cluster_id)
    _put_load(aws, cluster_id, pending=PENDING, allocated_mb=4 * NODE_MB, total_mb=4 * NODE_MB)
    handler = load_handler("scaler")
    # WHEN the trigger's event reaches the handler
    result = handler.lambda_handler(_with_cluster(load_event(sample), cluster_id), FakeContext())
    # THEN the TASK group grew, once, by the nodes the demand needs, with the reason given
    assert result["applied"] == 1
    assert [d["reason"] for d in result["decisions"]] == ["SCALE_OUT_PENDING_DEMAND"]
    assert _task_count(aws, cluster_id) == LOADED_TASK_NODES == 6


def test_cluster_without_opt_in_is_left_alone(aws: Any) -> None:
    # GIVEN a loaded cluster that did not opt in
    cluster_id = create_cluster(aws.client("emr"), task=2, tags={})
    _register(cluster_id)
    _put_load(aws, cluster_id, pending=PENDING, allocated_mb=4 * NODE_MB, total_mb=4 * NODE_MB)
    # WHEN the schedule fires, and when an alarm names it anyway
    tick = load_handler("scaler").lambda_handler(load_event("scheduled_tick.json"), FakeContext())
    alarm = load_handler("scaler").lambda_handler(
        _with_cluster(load_event("alarm_state_change.json"), cluster_id), FakeContext()
    )
    # THEN the watch did not register it, the tick does not evaluate it, the alarm holds, and it stays at 2
    assert tick["decisions"] == []
    assert [d["reason"] for d in alarm["decisions"]] == ["HOLD_CLUSTER_NOT_OPTED_IN"]
    assert _task_count(aws, cluster_id) == 2


def test_no_metrics_means_no_action(aws: Any) -> None:
    # GIVEN an opted-in cluster with no metrics anywhere
    cluster_id = create_cluster(aws.client("emr"), task=2)
    _register(cluster_id)
    # WHEN the schedule fires
    result = load_handler("scaler").lambda_handler(load_event("scheduled_tick.json"), FakeContext())
    # THEN the scaler holds on missing metrics
    assert [d["reason"] for d in result["decisions"]] == ["HOLD_METRICS_MISSING"]
    assert _task_count(aws, cluster_id) == 2


def test_vanished_cluster_is_a_hold(aws: Any) -> None:
    # GIVEN an alarm for a cluster EMR does not know (the sample's id)
    # WHEN handled
    result = load_handler("scaler").lambda_handler(load_event("alarm_state_change.json"), FakeContext())
    # THEN a hold with the reason, no exception
    assert [d["reason"] for d in result["decisions"]] == ["HOLD_CLUSTER_NOT_FOUND"]


@pytest.mark.parametrize("event", [{}, {"source": "aws.s3", "detail-type": "x", "id": "1"}, {"detail": None}])
def test_unknown_events_are_ignored(aws: Any, event: dict[str, Any]) -> None:
    # GIVEN an event of unknown shape, WHEN handled, THEN it is ignored with a reason and nothing raises
    result = load_handler("scaler").lambda_handler(event, FakeContext())
    assert result["ignored"] is True
    assert result["reason"]


def test_aws_failure_fails_the_invocation_for_retry_and_dlq(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a deployment whose state table is missing (DynamoDB answers ResourceNotFound)
    cluster_id = create_cluster(aws.client("emr"), task=2)
    _register(cluster_id)
    _put_load(aws, cluster_id, pending=PENDING, allocated_mb=4 * NODE_MB, total_mb=4 * NODE_MB)
    monkeypatch.setenv("EMR_AUTOSCALER_STATE_TABLE", "no-such-table")
    bootstrap.reset()
    # WHEN an alarm names the cluster, THEN the invocation fails (Lambda retries it, then the DLQ gets it) ...
    with pytest.raises(Exception, match="ResourceNotFound"):
        load_handler("scaler").lambda_handler(
            _with_cluster(load_event("alarm_state_change.json"), cluster_id), FakeContext()
        )
    # ... and nothing was resized
    assert _task_count(aws, cluster_id) == 2


@pytest.mark.parametrize(
    ("mode", "reason", "outcome"),
    [
        pytest.param("observe", "SCALE_OUT_PENDING_DEMAND", "observed", id="observe decides, never resizes"),
        pytest.param("paused", "HOLD_PAUSED", "held", id="paused does nothing"),
        pytest.param("active", "SCALE_OUT_PENDING_DEMAND", "applied", id="active acts"),
    ],
)
def test_modes_on_moto(aws: Any, mode: str, reason: str, outcome: str) -> None:
    # GIVEN a loaded cluster tagged with a mode
    tags = {"emr-autoscaler:enabled": "true", "emr-autoscaler:mode": mode}
    cluster_id = create_cluster(aws.client("emr"), task=2, tags=tags)
    _register(cluster_id)
    _put_load(aws, cluster_id, pending=PENDING, allocated_mb=4 * NODE_MB, total_mb=4 * NODE_MB)
    # WHEN the schedule fires
    result = load_handler("scaler").lambda_handler(load_event("scheduled_tick.json"), FakeContext())
    # THEN the decision follows the mode, and only active mode changed the cluster
    [decision] = result["decisions"]
    assert (decision["reason"], decision["outcome"]) == (reason, outcome)
    assert _task_count(aws, cluster_id) == (LOADED_TASK_NODES if mode == "active" else 2)
