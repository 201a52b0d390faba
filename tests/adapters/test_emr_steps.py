"""EmrStepsClient under moto (steps made FAILED in moto's backend) and, for what moto drops, botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from emr_autoscaler.adapters.aws.emr_steps import EmrStepsClient
from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.steps.domain.models import StepConfig
from emr_autoscaler.steps.ports import StepNotFoundError
from emr_autoscaler_dev.sandbox.provision import create_cluster
from tests.moto_steps import add_steps, fail_step


@pytest.fixture
def emr() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("emr", region_name="eu-west-1")


def test_failed_step_reads_config_action_and_failure_details(emr: Any) -> None:
    # GIVEN a spark step that failed on a lost node
    cluster_id = create_cluster(emr)
    (step_id,) = add_steps(emr, cluster_id, "aggregate")
    fail_step(cluster_id, step_id, "Container released on a *lost* node")
    # WHEN read
    step = EmrStepsClient(emr).failed_step(cluster_id, step_id)
    # THEN the domain step carries what a restart needs and why it failed
    assert (step.name, step.action_on_failure, step.state) == ("aggregate", "CANCEL_AND_WAIT", "FAILED")
    assert step.config == StepConfig(
        name="aggregate",
        action_on_failure="CANCEL_AND_WAIT",
        jar="command-runner.jar",
        args=("spark-submit", "s3://jobs/aggregate.py"),
        properties={"job": "aggregate"},
    )
    assert step.failure is not None
    assert step.failure.reason == "Container released on a *lost* node"
    assert step.failure.log_file == f"s3://aws-logs/elasticmapreduce/{cluster_id}/steps/{step_id}/"
    timeline = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]["Status"]["Timeline"]
    assert step.created_at == timeline["CreationDateTime"]


def test_unknown_cluster_and_step_raise_not_found(emr: Any) -> None:
    # GIVEN one cluster, WHEN an unknown cluster or step is read, THEN not-found errors (the service ignores them)
    cluster_id = create_cluster(emr)
    adapter = EmrStepsClient(emr)
    with pytest.raises(ClusterNotFoundError):
        adapter.cluster("j-DOESNOTEXIST")
    with pytest.raises(StepNotFoundError):
        adapter.failed_step(cluster_id, "s-DOESNOTEXIST")


def test_cancelled_followers_in_submission_order_and_added_back(emr: Any) -> None:
    # GIVEN extract (done) -> aggregate (failed, CANCEL_AND_WAIT) -> load, publish (cancelled by the failure)
    cluster_id = create_cluster(emr)
    extract, aggregate, load, publish = add_steps(emr, cluster_id, "extract", "aggregate", "load", "publish")
    emr_backend_steps = {s["Id"]: s for s in emr.list_steps(ClusterId=cluster_id)["Steps"]}
    assert extract in emr_backend_steps
    fail_step(cluster_id, aggregate, "Container released on a *lost* node")
    adapter = EmrStepsClient(emr)
    failed = adapter.failed_step(cluster_id, aggregate)
    # WHEN the followers are listed and added back after the restart
    followers = adapter.cancelled_followers(failed)
    assert failed.config is not None
    ids = adapter.add_steps(cluster_id, [failed.config, *(c for _, c in followers)])
    # THEN they are load, publish in order, and EMR has them after the restart
    assert [step_id for step_id, _ in followers] == [load, publish]
    listed = {s["Id"]: s["Name"] for s in emr.list_steps(ClusterId=cluster_id)["Steps"]}
    assert [listed[i] for i in ids] == ["aggregate", "load", "publish"]
    # ... and a CONTINUE failure cancels nothing
    assert adapter.cancelled_followers(failed.model_copy(update={"action_on_failure": "CONTINUE"})) == ()


def test_steps_named_finds_a_step_added_since(emr: Any) -> None:
    # GIVEN a restart added an hour ago (the helper's timeline)
    cluster_id = create_cluster(emr)
    (step_id,) = add_steps(emr, cluster_id, "aggregate (retry 1/2)")
    adapter = EmrStepsClient(emr)
    now = datetime.now(UTC)
    # WHEN searched by name since two hours ago, THEN found; since now, or by another name, THEN not
    assert adapter.steps_named(cluster_id, "aggregate (retry 1/2)", now - timedelta(hours=2)) == (step_id,)
    assert adapter.steps_named(cluster_id, "aggregate (retry 1/2)", now) == ()
    assert adapter.steps_named(cluster_id, "other", now - timedelta(hours=2)) == ()


def test_main_class_and_failure_details_against_the_real_api_model() -> None:
    # GIVEN a client checked against the real EMR API model (moto drops MainClass)
    client = boto3.client("emr", region_name="eu-west-1")
    stubber = Stubber(client)
    created = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    stubber.add_response(
        "describe_step",
        {
            "Step": {
                "Id": "s-1",
                "Name": "aggregate",
                "Config": {
                    "Jar": "s3://jars/etl.jar",
                    "MainClass": "com.acme.Aggregate",
                    "Args": ["--date", "2026-03-03"],
                    "Properties": {"mapreduce.job.queuename": "etl"},
                },
                "ActionOnFailure": "CONTINUE",
                "Status": {
                    "State": "FAILED",
                    "FailureDetails": {"Reason": "Slow Down", "Message": "503", "LogFile": "s3://logs/s-1/"},
                    "Timeline": {"CreationDateTime": created, "EndDateTime": created},
                },
            }
        },
        {"ClusterId": "j-1", "StepId": "s-1"},
    )
    stubber.add_response(
        "add_job_flow_steps",
        {"StepIds": ["s-2"]},
        {
            "JobFlowId": "j-1",
            "Steps": [
                {
                    "Name": "aggregate (retry 1/2)",
                    "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {
                        "Jar": "s3://jars/etl.jar",
                        "Args": ["--date", "2026-03-03"],
                        "MainClass": "com.acme.Aggregate",
                        "Properties": [{"Key": "mapreduce.job.queuename", "Value": "etl"}],
                    },
                }
            ],
        },
    )
    adapter = EmrStepsClient(client)
    # WHEN read and re-added under the restart's name
    with stubber:
        step = adapter.failed_step("j-1", "s-1")
        assert step.config is not None
        ids = adapter.add_steps("j-1", [step.config.model_copy(update={"name": "aggregate (retry 1/2)"})])
    # THEN MainClass, properties and ActionOnFailure round-trip, and exactly those calls were made
    assert ids == ("s-2",)
    assert step.failure is not None
    assert step.failure.reason == "Slow Down"
    stubber.assert_no_pending_responses()


ROLE = "arn:aws:iam::123456789012:role/etl-runtime"


def _jar_step(name: str, job: str | None = None) -> dict[str, Any]:
    return {
        "Name": name,
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", f"s3://jobs/{job or name}.py"]},
    }


def test_runtime_role_is_read_and_passed_back_one_call_per_role_against_the_real_api_model() -> None:
    # GIVEN a step that ran with a runtime role (DescribeStep's ExecutionRoleArn, its own LogUri) -- moto keeps neither
    client = boto3.client("emr", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_step",
        {
            "Step": {
                "Id": "s-1",
                "Name": "aggregate",
                "Config": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://jobs/aggregate.py"]},
                "ActionOnFailure": "CONTINUE",
                "ExecutionRoleArn": ROLE,
                "LogUri": "s3://team-logs/steps/",
                "Status": {"State": "FAILED", "FailureDetails": {"Reason": "Unknown Error."}},
            }
        },
        {"ClusterId": "j-1", "StepId": "s-1"},
    )
    # ... re-added with two followers: one without a role, one with the same role: three calls, in order, each with
    # the role its steps ran with (AddJobFlowSteps takes one ExecutionRoleArn per call)
    stubber.add_response(
        "add_job_flow_steps",
        {"StepIds": ["s-2"]},
        {"JobFlowId": "j-1", "Steps": [_jar_step("aggregate (retry 1/2)", "aggregate")], "ExecutionRoleArn": ROLE},
    )
    stubber.add_response("add_job_flow_steps", {"StepIds": ["s-3"]}, {"JobFlowId": "j-1", "Steps": [_jar_step("load")]})
    stubber.add_response(
        "add_job_flow_steps",
        {"StepIds": ["s-4"]},
        {"JobFlowId": "j-1", "Steps": [_jar_step("publish")], "ExecutionRoleArn": ROLE},
    )
    adapter = EmrStepsClient(client)
    with stubber:
        step = adapter.failed_step("j-1", "s-1")
        assert step.config is not None
        assert step.config.execution_role_arn == ROLE
        assert step.log_uri == "s3://team-logs/steps/"
        restart = step.config.model_copy(update={"name": "aggregate (retry 1/2)"})
        load = StepConfig(
            name="load",
            action_on_failure="CONTINUE",
            jar="command-runner.jar",
            args=("spark-submit", "s3://jobs/load.py"),
        )
        publish = load.model_copy(
            update={"name": "publish", "args": ("spark-submit", "s3://jobs/publish.py"), "execution_role_arn": ROLE}
        )
        ids = adapter.add_steps("j-1", [restart, load, publish])
    assert ids == ("s-2", "s-3", "s-4")
    stubber.assert_no_pending_responses()
