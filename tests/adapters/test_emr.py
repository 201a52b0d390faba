"""EmrInstanceGroups under moto: snapshots, listing, resize with a shrink policy, refusal when a group moved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.kernel.models import ClusterState, GroupRole, GroupState
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceGroup
from emr_autoscaler.scaling.ports import GroupMovedError
from emr_autoscaler_dev.sandbox.provision import create_cluster


@pytest.fixture
def emr() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("emr", region_name="eu-west-1")


def _group_id(client: Any, cluster_id: str, role: str) -> str:
    groups = client.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    return str(next(g["Id"] for g in groups if g["InstanceGroupType"] == role))


def test_describe_reads_state_tags_and_master_dns(emr: Any) -> None:
    # GIVEN an opted-in cluster
    cluster_id = create_cluster(emr, name="etl", core=2, task=3, tags={"emr-autoscaler:enabled": "true"})
    adapter = EmrInstanceGroups(emr)
    # WHEN described with its groups
    snapshot = adapter.describe(cluster_id)
    groups = adapter.instance_groups(cluster_id)
    # THEN the domain snapshot carries what the policy needs
    assert snapshot.name == "etl"
    assert snapshot.opted_in
    assert snapshot.state in (ClusterState.WAITING, ClusterState.RUNNING, ClusterState.STARTING)
    assert snapshot.master_private_dns
    by_role = {g.role: g for g in groups}
    assert by_role[GroupRole.TASK].requested_count == 3
    assert by_role[GroupRole.CORE].running_count == 2
    assert by_role[GroupRole.TASK].state is GroupState.RUNNING


def test_unknown_cluster_raises_not_found(emr: Any) -> None:
    # GIVEN no such cluster
    adapter = EmrInstanceGroups(emr)
    # WHEN described, THEN ClusterNotFoundError
    with pytest.raises(ClusterNotFoundError):
        adapter.describe("j-DOESNOTEXIST")


def test_lists_active_clusters_only(emr: Any) -> None:
    # GIVEN one active and one terminated cluster
    alive = create_cluster(emr, name="alive")
    dead = create_cluster(emr, name="dead")
    emr.terminate_job_flows(JobFlowIds=[dead])
    # WHEN listed
    ids = EmrInstanceGroups(emr).list_active_cluster_ids()
    # THEN only the active one is there
    assert ids == [alive]


def test_resize_applies_counts(emr: Any) -> None:
    # GIVEN a TASK group of 2
    cluster_id = create_cluster(emr, task=2)
    task = _group_id(emr, cluster_id, "TASK")
    adapter = EmrInstanceGroups(emr)
    # WHEN resized to 5
    adapter.resize(
        cluster_id,
        [ResizeInstanceGroup(group_id=task, group_name="Task", role=GroupRole.TASK, from_count=2, to_count=5)],
    )
    # THEN EMR has 5 requested
    groups = {g.group_id: g for g in adapter.instance_groups(cluster_id)}
    assert groups[task].requested_count == 5


def test_resize_refuses_when_group_moved(emr: Any) -> None:
    # GIVEN a decision made when TASK had 2 nodes, and someone resized it to 4 since
    cluster_id = create_cluster(emr, task=2)
    task = _group_id(emr, cluster_id, "TASK")
    emr.modify_instance_groups(ClusterId=cluster_id, InstanceGroups=[{"InstanceGroupId": task, "InstanceCount": 4}])
    command = ResizeInstanceGroup(group_id=task, group_name="Task", role=GroupRole.TASK, from_count=2, to_count=6)
    # WHEN the command is applied, THEN it is refused and EMR keeps 4
    with pytest.raises(GroupMovedError, match="moved since the decision"):
        EmrInstanceGroups(emr).resize(cluster_id, [command])
    groups = {g.group_id: g for g in EmrInstanceGroups(emr).instance_groups(cluster_id)}
    assert groups[task].requested_count == 4


def test_shrink_sends_graceful_decommission_timeout() -> None:
    # GIVEN a client checked against the real EMR API model (moto ignores ShrinkPolicy)
    client = boto3.client("emr", region_name="eu-west-1")
    stubber = Stubber(client)
    group = {
        "Id": "ig-TASK",
        "Name": "Task",
        "InstanceGroupType": "TASK",
        "InstanceType": "m5.xlarge",
        "RequestedInstanceCount": 6,
        "RunningInstanceCount": 6,
        "Status": {"State": "RUNNING"},
        "Market": "ON_DEMAND",
    }
    stubber.add_response("list_instance_groups", {"InstanceGroups": [group]}, {"ClusterId": "j-1"})
    stubber.add_response(
        "modify_instance_groups",
        {},
        {
            "ClusterId": "j-1",
            "InstanceGroups": [
                {"InstanceGroupId": "ig-TASK", "InstanceCount": 3, "ShrinkPolicy": {"DecommissionTimeout": 3600}}
            ],
        },
    )
    command = ResizeInstanceGroup(
        group_id="ig-TASK",
        group_name="Task",
        role=GroupRole.TASK,
        from_count=6,
        to_count=3,
        decommission_timeout_s=3600,
    )
    # WHEN the shrink is applied
    with stubber:
        EmrInstanceGroups(client).resize("j-1", [command])
    # THEN exactly the expected calls were made, with the shrink policy
    stubber.assert_no_pending_responses()


def _stubbed_group(state: str, running: int, requested: int) -> tuple[Any, Stubber]:
    client = boto3.client("emr", region_name="eu-west-1")
    stubber = Stubber(client)
    group = {
        "Id": "ig-TASK",
        "Name": "Task",
        "InstanceGroupType": "TASK",
        "InstanceType": "m5.xlarge",
        "RequestedInstanceCount": requested,
        "RunningInstanceCount": running,
        "Status": {"State": state},
        "Market": "ON_DEMAND",
    }
    stubber.add_response("list_instance_groups", {"InstanceGroups": [group]}, {"ClusterId": "j-1"})
    return client, stubber


def test_resize_raises_the_count_of_a_group_still_resizing() -> None:
    # GIVEN a group RESIZING 2 -> 12 (EMR takes a new count mid-resize) and a decision that saw 12 requested
    client, stubber = _stubbed_group("RESIZING", running=2, requested=12)
    stubber.add_response(
        "modify_instance_groups",
        {},
        {"ClusterId": "j-1", "InstanceGroups": [{"InstanceGroupId": "ig-TASK", "InstanceCount": 18}]},
    )
    command = ResizeInstanceGroup(
        group_id="ig-TASK", group_name="Task", role=GroupRole.TASK, from_count=12, to_count=18
    )
    # WHEN applied, THEN ModifyInstanceGroups is called with the new count
    with stubber:
        EmrInstanceGroups(client).resize("j-1", [command])
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("state", ["ARRESTED", "SUSPENDED", "RECONFIGURING", "PROVISIONING"])
def test_resize_refuses_a_group_emr_cannot_resize_now(state: str) -> None:
    # GIVEN a group in a state EMR does not resize from, its counts as the decision saw them
    client, stubber = _stubbed_group(state, running=2, requested=2)
    command = ResizeInstanceGroup(group_id="ig-TASK", group_name="Task", role=GroupRole.TASK, from_count=2, to_count=4)
    # WHEN applied, THEN it is refused before any ModifyInstanceGroups call
    with stubber, pytest.raises(GroupMovedError, match=state):
        EmrInstanceGroups(client).resize("j-1", [command])
    stubber.assert_no_pending_responses()
