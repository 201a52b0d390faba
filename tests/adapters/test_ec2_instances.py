"""Ec2InstanceDirectory against botocore's Stubber: EC2's DescribeInstances request and answer are checked against the
real API model; the instance's cluster is EMR's `aws:elasticmapreduce:job-flow-id` system tag
(https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-plan-tags.html)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from emr_autoscaler.adapters.aws.ec2_instances import Ec2InstanceDirectory
from emr_autoscaler.scaling.ports import InstanceUnresolvedError

INSTANCE = "i-0b662ef9931388ba0"


def _client() -> Any:
    return boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def _described(tags: list[dict[str, str]]) -> dict[str, Any]:
    """DescribeInstances' answer for one Spot instance (API_DescribeInstances.html, API_Instance.html)."""
    instance = {"InstanceId": INSTANCE, "InstanceType": "m5.xlarge", "InstanceLifecycle": "spot", "Tags": tags}
    return {"Reservations": [{"ReservationId": "r-0123456789abcdef0", "Instances": [instance]}]}


def test_an_emr_instance_names_its_cluster_by_emrs_system_tag() -> None:
    # GIVEN an EMR TASK instance, tagged by EMR with its cluster and role, and a user tag
    client = _client()
    tags = [
        {"Key": "aws:elasticmapreduce:instance-group-role", "Value": "TASK"},
        {"Key": "aws:elasticmapreduce:job-flow-id", "Value": "j-2AXXXXXXGAPLF"},
        {"Key": "team", "Value": "etl"},
    ]
    with Stubber(client) as stub:
        stub.add_response("describe_instances", _described(tags), {"InstanceIds": [INSTANCE]})
        # WHEN its cluster is asked for, THEN one DescribeInstances names it
        assert Ec2InstanceDirectory(lambda: client).cluster_of(INSTANCE) == "j-2AXXXXXXGAPLF"


@pytest.mark.parametrize(
    "answer",
    [_described([{"Key": "Name", "Value": "batch-worker"}]), {"Reservations": []}],
    ids=["not-emr", "another-account"],
)
def test_an_instance_without_the_emr_tag_or_not_listed_has_no_cluster(answer: dict[str, Any]) -> None:
    # GIVEN a plain EC2 Spot instance (no EMR tag), or one EC2 leaves out (another account's)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_instances", answer, {"InstanceIds": [INSTANCE]})
        # WHEN / THEN it belongs to no cluster
        assert Ec2InstanceDirectory(lambda: client).cluster_of(INSTANCE) is None


def test_an_instance_ec2_does_not_know_has_no_cluster() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instances", "InvalidInstanceID.NotFound", "does not exist")
        assert Ec2InstanceDirectory(lambda: client).cluster_of(INSTANCE) is None


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "UnauthorizedOperation", "InternalError"])
def test_ec2_not_answering_is_an_unresolved_instance_naming_the_error(code: str) -> None:
    # GIVEN EC2 throttling (past botocore's retries), refusing the call, or failing
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instances", code, "no")
        # WHEN / THEN the directory says it cannot tell, with EC2's error code
        with pytest.raises(InstanceUnresolvedError, match=code):
            Ec2InstanceDirectory(lambda: client).cluster_of(INSTANCE)


def test_the_ec2_client_is_made_on_first_use_only() -> None:
    # GIVEN a directory whose EC2 client is made on demand (EC2's model is large: a cold start should not pay for it)
    client, made = _client(), []

    def make() -> Any:
        made.append(client)
        return client

    directory = Ec2InstanceDirectory(make)
    assert made == []
    # WHEN two instances are resolved, THEN the client was made once, at the first
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_response("describe_instances", _described([]), {"InstanceIds": [INSTANCE]})
        directory.cluster_of(INSTANCE)
        directory.cluster_of(INSTANCE)
    assert made == [client]
