"""EmrInstanceFleets against botocore's Stubber (moto has no instance fleets): every request and response is checked
against EMR's real API model. Also: DescribeCluster's InstanceCollectionType, and a fleet cluster's refusal of
ListInstanceGroups turned into ClusterUnreadableError."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
from emr_autoscaler.adapters.aws.emr_fleets import EmrInstanceFleets
from emr_autoscaler.kernel.models import GroupRole, GroupState, InstanceCollection
from emr_autoscaler.scaling.domain.decisions import ResizeInstanceFleet
from emr_autoscaler.scaling.ports import ClusterUnreadableError, GroupMovedError

CLUSTER = "j-2AXXXXXXGAPLF"


def _fleet(fleet_type: str = "TASK", on_demand: int = 0, spot: int = 8, **overrides: Any) -> dict[str, Any]:
    """One ListInstanceFleets entry, as EMR documents it (API_InstanceFleet.html)."""
    entry: dict[str, Any] = {
        "Id": f"if-{fleet_type}1",
        "Name": f"{fleet_type.title()} fleet",
        "Status": {"State": "RUNNING", "StateChangeReason": {}, "Timeline": {}},
        "InstanceFleetType": fleet_type,
        "TargetOnDemandCapacity": on_demand,
        "TargetSpotCapacity": spot,
        "ProvisionedOnDemandCapacity": on_demand,
        "ProvisionedSpotCapacity": spot,
        "InstanceTypeSpecifications": [
            {"InstanceType": "m5.xlarge", "WeightedCapacity": 4, "BidPriceAsPercentageOfOnDemandPrice": 100.0},
            {"InstanceType": "m5.2xlarge", "WeightedCapacity": 8, "BidPriceAsPercentageOfOnDemandPrice": 100.0},
        ],
    }
    return entry | overrides


def _command(spot_from: int, spot_to: int, timeout: int | None = None) -> ResizeInstanceFleet:
    """A command moving the TASK fleet's Spot target (no On-Demand)."""
    return ResizeInstanceFleet(
        group_id="if-TASK1",
        group_name="Task fleet",
        role=GroupRole.TASK,
        from_count=spot_from,
        to_count=spot_to,
        from_on_demand=0,
        from_spot=spot_from,
        to_on_demand=0,
        to_spot=spot_to,
        spot_timeout_minutes=timeout,
    )


@pytest.fixture
def client() -> Any:
    return boto3.client("emr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_lists_fleets_in_units_per_market(client: Any) -> None:
    # GIVEN EMR listing a master and a TASK fleet
    with Stubber(client) as stub:
        stub.add_response(
            "list_instance_fleets",
            {"InstanceFleets": [_fleet("MASTER", on_demand=1, spot=0), _fleet(on_demand=4, spot=12)]},
            {"ClusterId": CLUSTER},
        )
        # WHEN read
        fleets = EmrInstanceFleets(client).instance_fleets(CLUSTER)
    # THEN targets, provisioned capacity and weights are the domain's
    task = next(f for f in fleets if f.role is GroupRole.TASK)
    assert (task.target_on_demand, task.target_spot, task.provisioned_units) == (4, 12, 16)
    assert [(t.instance_type, t.weighted_capacity) for t in task.instance_types] == [
        ("m5.xlarge", 4),
        ("m5.2xlarge", 8),
    ]
    assert task.state is GroupState.RUNNING


def test_resize_sends_targets_and_the_spot_timeout(client: Any) -> None:
    # GIVEN a TASK fleet as the decision saw it, and a command growing Spot
    command = _command(8, 20, timeout=15)
    with Stubber(client) as stub:
        stub.add_response("list_instance_fleets", {"InstanceFleets": [_fleet()]}, {"ClusterId": CLUSTER})
        # THEN ModifyInstanceFleet carries the targets and SpotResizeSpecification (checked against the API model)
        stub.add_response(
            "modify_instance_fleet",
            {},
            {
                "ClusterId": CLUSTER,
                "InstanceFleet": {
                    "InstanceFleetId": "if-TASK1",
                    "TargetOnDemandCapacity": 0,
                    "TargetSpotCapacity": 20,
                    "ResizeSpecifications": {"SpotResizeSpecification": {"TimeoutDurationMinutes": 15}},
                },
            },
        )
        # WHEN applied
        EmrInstanceFleets(client).resize_fleets(CLUSTER, [command])
        stub.assert_no_pending_responses()


def test_resize_refuses_a_fleet_that_moved(client: Any) -> None:
    # GIVEN a command made when the fleet asked 8 Spot units, and the fleet now asking 12
    command = _command(8, 4)
    with Stubber(client) as stub:
        stub.add_response("list_instance_fleets", {"InstanceFleets": [_fleet(spot=12)]}, {"ClusterId": CLUSTER})
        # WHEN applied, THEN refused without any ModifyInstanceFleet
        with pytest.raises(GroupMovedError):
            EmrInstanceFleets(client).resize_fleets(CLUSTER, [command])


def test_a_fleet_of_unknown_shape_is_unreadable(client: Any) -> None:
    # GIVEN a fleet entry EMR's model allows but the scaler cannot use (no id)
    broken = _fleet()
    del broken["Id"]
    with Stubber(client) as stub:
        stub.add_response("list_instance_fleets", {"InstanceFleets": [broken]}, {"ClusterId": CLUSTER})
        # WHEN read, THEN ClusterUnreadableError (a hold), never a KeyError (a failed invocation)
        with pytest.raises(ClusterUnreadableError):
            EmrInstanceFleets(client).instance_fleets(CLUSTER)


def test_fleet_cluster_refusing_list_instance_groups_is_unreadable(client: Any) -> None:
    # GIVEN EMR's answer to ListInstanceGroups on a fleet cluster
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_instance_groups",
            service_error_code="InvalidRequestException",
            service_message="Instance fleet clusters are not supported by this API.",
            http_status_code=400,
            expected_params={"ClusterId": CLUSTER},
        )
        # WHEN groups are read, THEN ClusterUnreadableError carrying EMR's message
        with pytest.raises(ClusterUnreadableError, match="not supported"):
            EmrInstanceGroups(client).instance_groups(CLUSTER)


def test_describe_reads_the_instance_collection_type(client: Any) -> None:
    # GIVEN DescribeCluster of a fleet cluster
    cluster = {
        "Id": CLUSTER,
        "Name": "etl-nightly",
        "Status": {"State": "RUNNING"},
        "InstanceCollectionType": "INSTANCE_FLEET",
        "Tags": [{"Key": "emr-autoscaler:enabled", "Value": "true"}],
    }
    with Stubber(client) as stub:
        stub.add_response("describe_cluster", {"Cluster": cluster}, {"ClusterId": CLUSTER})
        # WHEN described, THEN the snapshot says fleets
        assert EmrInstanceGroups(client).describe(CLUSTER).collection is InstanceCollection.INSTANCE_FLEET


def test_locates_an_instance_through_list_instances(client: Any) -> None:
    # GIVEN ListInstances of a fleet cluster with one Spot instance
    instance = {
        "Id": "ci-1",
        "Ec2InstanceId": "i-0b662ef9931388ba0",
        "Status": {"State": "RUNNING"},
        "InstanceFleetId": "if-TASK1",
        "Market": "SPOT",
        "InstanceType": "m5.2xlarge",
    }
    states = ["AWAITING_FULFILLMENT", "PROVISIONING", "BOOTSTRAPPING", "RUNNING"]
    with Stubber(client) as stub:
        stub.add_response("list_instances", {"Instances": [instance]}, {"ClusterId": CLUSTER, "InstanceStates": states})
        stub.add_response("list_instances", {"Instances": []}, {"ClusterId": CLUSTER, "InstanceStates": states})
        adapter = EmrInstanceFleets(client)
        # WHEN located, THEN its fleet, market and type; an unknown instance is None
        found = adapter.locate_instance(CLUSTER, "i-0b662ef9931388ba0")
        assert found is not None
        assert (found.fleet_id, found.market, found.instance_type) == ("if-TASK1", "SPOT", "m5.2xlarge")
        assert adapter.locate_instance(CLUSTER, "i-0b662ef9931388ba0") is None


def test_instance_groups_carry_their_market(client: Any) -> None:
    # GIVEN ListInstanceGroups with an On-Demand and a Spot TASK group
    def group(group_id: str, market: str) -> dict[str, Any]:
        return {
            "Id": group_id,
            "Name": group_id,
            "Market": market,
            "InstanceGroupType": "TASK",
            "InstanceType": "m5.xlarge",
            "RequestedInstanceCount": 2,
            "RunningInstanceCount": 2,
            "Status": {"State": "RUNNING"},
        }

    with Stubber(client) as stub:
        stub.add_response(
            "list_instance_groups",
            {"InstanceGroups": [group("ig-OD", "ON_DEMAND"), group("ig-SPOT", "SPOT")]},
            {"ClusterId": CLUSTER},
        )
        # WHEN read, THEN each group says its market
        groups = EmrInstanceGroups(client).instance_groups(CLUSTER)
    assert [(g.group_id, g.market) for g in groups] == [("ig-OD", "ON_DEMAND"), ("ig-SPOT", "SPOT")]


def test_lost_instances_are_the_recently_ended_spot_ones_of_the_group(client: Any) -> None:
    # GIVEN ListInstances (TERMINATED) of a group: a Spot instance ended 3 minutes ago, one ended an hour ago, and
    # an On-Demand one
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 26, 9, 45, tzinfo=UTC)

    def ended(ec2_id: str, minutes_ago: int, market: str = "SPOT") -> dict[str, Any]:
        return {
            "Id": f"ci-{ec2_id}",
            "Ec2InstanceId": ec2_id,
            "Status": {"State": "TERMINATED", "Timeline": {"EndDateTime": now - timedelta(minutes=minutes_ago)}},
            "InstanceGroupId": "ig-SPOT",
            "Market": market,
            "InstanceType": "m5.xlarge",
        }

    instances = [
        ended("i-0aaaaaaaaaaaaaaaa", 3),
        ended("i-0bbbbbbbbbbbbbbbb", 60),
        ended("i-0cccccccccccccccc", 2, "ON_DEMAND"),
    ]
    with Stubber(client) as stub:
        stub.add_response(
            "list_instances",
            {"Instances": instances},
            {"ClusterId": CLUSTER, "InstanceStates": ["TERMINATED"], "InstanceGroupId": "ig-SPOT"},
        )
        # WHEN the group's losses of the last 15 minutes are read
        lost = EmrInstanceFleets(client).lost_instances(CLUSTER, "ig-SPOT", now - timedelta(minutes=15))
    # THEN only the recent Spot one is, with its group and type
    assert [(i.ec2_instance_id, i.group_id, i.instance_type) for i in lost] == [
        ("i-0aaaaaaaaaaaaaaaa", "ig-SPOT", "m5.xlarge")
    ]
