"""node_labels_from and EmrPrimaryNodes: where a cluster pins ApplicationMasters, and its primary nodes' addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
from emr_autoscaler.adapters.aws.emr_labels import node_labels_from
from emr_autoscaler.adapters.aws.emr_primaries import EmrPrimaryNodes
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState, InstanceCollection, NodeLabels
from emr_autoscaler_dev.sandbox.provision import create_cluster

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)


def _yarn_site(**properties: Any) -> list[dict[str, Any]]:
    return [{"Classification": "yarn-site", "Properties": properties}]


ENABLED = "yarn.node-labels.enabled"
EXPRESSION = "yarn.node-labels.am.default-node-label-expression"


@pytest.mark.parametrize(
    ("configurations", "release", "expected"),
    [
        pytest.param(None, "emr-7.5.0", NodeLabels(), id="EMR 6.x and later: labels off by default"),
        pytest.param(None, "emr-5.36.2", NodeLabels(am_label="CORE"), id="EMR 5.19+: AMs on CORE by default"),
        pytest.param(None, "emr-5.18.0", NodeLabels(), id="EMR before 5.19: no labels"),
        pytest.param(
            _yarn_site(**{ENABLED: "true", EXPRESSION: "CORE"}), "emr-7.5.0", NodeLabels(am_label="CORE"), id="CORE"
        ),
        pytest.param(
            _yarn_site(**{ENABLED: "True", EXPRESSION: "'ON_DEMAND'"}),
            "emr-7.2.0",
            NodeLabels(am_label="ON_DEMAND"),
            id="ON_DEMAND, quoted as EMR's docs show it",
        ),
        pytest.param(
            _yarn_site(**{ENABLED: "false", EXPRESSION: ""}), "emr-5.36.2", NodeLabels(), id="turned off on 5.x"
        ),
        pytest.param(_yarn_site(**{ENABLED: "true"}), "emr-7.5.0", NodeLabels(), id="labels on, AMs not pinned"),
        pytest.param(
            [{"Classification": "spark-defaults", "Properties": {"spark.driver.memory": "2g"}}],
            "emr-7.5.0",
            NodeLabels(),
            id="no yarn-site classification",
        ),
    ],
)
def test_readable_configurations(configurations: Any, release: str, expected: NodeLabels) -> None:
    # GIVEN a cluster's Configurations and release label, WHEN read, THEN AMs are pinned as EMR documents
    assert node_labels_from(configurations, release) == expected


@pytest.mark.parametrize(
    ("configurations", "why"),
    [
        pytest.param(_yarn_site(**{ENABLED: "maybe", EXPRESSION: "CORE"}), "neither true nor false", id="enabled"),
        pytest.param(_yarn_site(**{ENABLED: "true", EXPRESSION: "CORE || TASK"}), "not a single", id="expression"),
        pytest.param(_yarn_site(**{ENABLED: "true", EXPRESSION: "GPU"}), "does not put on a node", id="unknown label"),
        pytest.param([{"Classification": "yarn-site", "Properties": ["x"]}], "not a map", id="properties"),
        pytest.param({"Classification": "yarn-site"}, "not a list", id="configurations"),
    ],
)
def test_unreadable_configurations_say_why(configurations: Any, why: str) -> None:
    # GIVEN a label configuration the scaler cannot map to groups, WHEN read
    labels = node_labels_from(configurations, "emr-7.5.0")

    # THEN it is unreadable, with the reason, and pins nothing
    assert labels.am_label is None
    assert labels.unreadable is not None
    assert why in labels.unreadable


@pytest.fixture
def emr() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("emr", region_name="eu-west-1")


def test_describe_reads_the_yarn_site_classification(emr: Any) -> None:
    # GIVEN a cluster launched with AMs pinned to CORE (moto keeps the Configurations, as EMR does)
    configurations = _yarn_site(**{ENABLED: "true", EXPRESSION: "CORE"})
    cluster_id = create_cluster(emr, name="labelled", configurations=configurations)

    # WHEN described
    snapshot = EmrInstanceGroups(emr).describe(cluster_id)

    # THEN the snapshot knows where AMs run
    assert snapshot.node_labels == NodeLabels(am_label="CORE")


def _snapshot(collection: InstanceCollection = InstanceCollection.INSTANCE_GROUP) -> ClusterSnapshot:
    return ClusterSnapshot(
        cluster_id="j-HA0000000001", name="ha", state=ClusterState.RUNNING, read_at=NOW, collection=collection
    )


def _instance(n: int) -> dict[str, Any]:
    return {
        "Id": f"ci-{n}",
        "Ec2InstanceId": f"i-0{n}",
        "PrivateIpAddress": f"10.0.0.{n}",
        "PrivateDnsName": f"ip-10-0-0-{n}.eu-west-1.compute.internal",
        "Status": {"State": "RUNNING"},
    }


@pytest.mark.parametrize(
    ("collection", "role_filter"),
    [
        (InstanceCollection.INSTANCE_GROUP, {"InstanceGroupTypes": ["MASTER"]}),
        (InstanceCollection.INSTANCE_FLEET, {"InstanceFleetType": "MASTER"}),
    ],
)
def test_primary_nodes_are_listed_by_role_with_their_private_names(
    collection: InstanceCollection, role_filter: dict[str, Any]
) -> None:
    # GIVEN EMR answering ListInstances for the primary role with three running primary nodes, over two pages
    client = boto3.client("emr", region_name="eu-west-1")
    expected = {"ClusterId": "j-HA0000000001", "InstanceStates": ["RUNNING"], **role_filter}
    with Stubber(client) as stubber:
        stubber.add_response("list_instances", {"Instances": [_instance(1), _instance(2)], "Marker": "m"}, expected)
        stubber.add_response("list_instances", {"Instances": [_instance(3)]}, {**expected, "Marker": "m"})

        # WHEN the primaries are asked for
        nodes = EmrPrimaryNodes(client).addresses(_snapshot(collection))

        # THEN each node is named by its private IP address, then its private DNS name
        stubber.assert_no_pending_responses()
    assert nodes == tuple((f"10.0.0.{n}", f"ip-10-0-0-{n}.eu-west-1.compute.internal") for n in (1, 2, 3))
