"""Other scalers at the EMR edge, against botocore's Stubber (moto has no managed scaling): every request and every
answer is checked against EMR's real API model.

The fixtures are real-shaped answers, after AWS's API reference: `emr_get_managed_scaling_policy.json`
(https://docs.aws.amazon.com/emr/latest/APIReference/API_GetManagedScalingPolicy.html,
https://docs.aws.amazon.com/emr/latest/APIReference/API_ManagedScalingPolicy.html,
https://docs.aws.amazon.com/emr/latest/APIReference/API_ComputeLimits.html) and
`emr_list_instance_groups_autoscaling.json`, a TASK group carrying the console's default custom automatic scaling
policy on YARNMemoryAvailablePercentage (https://docs.aws.amazon.com/emr/latest/APIReference/API_ListInstanceGroups.html,
https://docs.aws.amazon.com/emr/latest/APIReference/API_AutoScalingPolicyDescription.html,
https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-automatic-scaling.html). The Stubber refuses either
if its shape strays from the model.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
from emr_autoscaler.adapters.aws.emr_managed_scaling import EmrManagedScaling, limits_from
from emr_autoscaler.kernel.models import GroupRole, ManagedScalingLimits, ManagedScalingUnit
from emr_autoscaler.scaling.domain.decisions import TuneManagedScaling
from emr_autoscaler.scaling.ports import GroupMovedError, OtherScalerUnreadableError

CLUSTER = "j-2AXXXXXXGAPLF"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(name: str) -> Any:
    """A fixture's JSON, its ISO timestamps as datetimes (as botocore parses them)."""

    def hook(item: dict[str, Any]) -> dict[str, Any]:
        return {k: datetime.fromisoformat(v) if k.endswith("DateTime") else v for k, v in item.items()}

    return json.loads((FIXTURES / name).read_text(), object_hook=hook)


@pytest.fixture
def client() -> Any:
    return boto3.client("emr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_reads_the_policy_emr_documents(client: Any) -> None:
    # GIVEN EMR answering with the documented policy
    with Stubber(client) as stub:
        stub.add_response(
            "get_managed_scaling_policy", fixture("emr_get_managed_scaling_policy.json"), {"ClusterId": CLUSTER}
        )
        # WHEN read
        limits = EmrManagedScaling(client).limits(CLUSTER)
    # THEN every limit, and the rest of the policy to send back unchanged
    assert limits == ManagedScalingLimits(
        unit_type=ManagedScalingUnit.INSTANCES,
        minimum_units=2,
        maximum_units=20,
        maximum_on_demand_units=10,
        maximum_core_units=4,
        scaling_strategy="ADVANCED",
        utilization_performance_index=50,
    )


@pytest.mark.parametrize("answer", [{}, {"ManagedScalingPolicy": {}}], ids=["no policy", "an empty policy"])
def test_no_policy_attached_reads_as_none(client: Any, answer: dict[str, Any]) -> None:
    with Stubber(client) as stub:
        stub.add_response("get_managed_scaling_policy", answer, {"ClusterId": CLUSTER})
        assert EmrManagedScaling(client).limits(CLUSTER) is None


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("ThrottlingException", 400), ("InternalServerError", 500)],
)
def test_a_refused_read_is_unreadable_never_none(client: Any, code: str, status: int) -> None:
    # GIVEN EMR refusing the read (botocore's retries already spent)
    with Stubber(client) as stub:
        stub.add_client_error("get_managed_scaling_policy", service_error_code=code, http_status_code=status)
        # WHEN read, THEN the scaler cannot tell: it raises the port's error, naming the code
        with pytest.raises(OtherScalerUnreadableError, match=code):
            EmrManagedScaling(client).limits(CLUSTER)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"ManagedScalingPolicy": {"ScalingStrategy": "DEFAULT"}}, id="no ComputeLimits"),
        pytest.param(
            {"ManagedScalingPolicy": {"ComputeLimits": {"UnitType": "Gigawatts", "MinimumCapacityUnits": 1}}},
            id="an unknown unit",
        ),
        pytest.param(
            {"ManagedScalingPolicy": {"ComputeLimits": {"UnitType": "Instances", "MinimumCapacityUnits": 1}}},
            id="no maximum",
        ),
        pytest.param(
            {
                "ManagedScalingPolicy": {
                    "ComputeLimits": {"UnitType": "Instances", "MinimumCapacityUnits": 9, "MaximumCapacityUnits": 3}
                }
            },
            id="minimum above maximum",
        ),
        pytest.param({"ManagedScalingPolicy": ["Instances"]}, id="not an object"),
    ],
)
def test_an_answer_of_unknown_shape_is_unreadable(answer: Any) -> None:
    # The parser is fed directly: the Stubber would refuse these shapes before the adapter saw them.
    with pytest.raises(ValueError):  # noqa: PT011 (each shape has its own message)
        limits_from(answer)


def test_tune_puts_the_new_limits_and_keeps_the_rest_of_the_policy(client: Any) -> None:
    # GIVEN the documented policy, and a command that saw it
    seen = limits_from(fixture("emr_get_managed_scaling_policy.json"))
    assert seen is not None
    wanted = seen.model_copy(update={"maximum_units": 9, "maximum_on_demand_units": 9})
    with Stubber(client) as stub:
        stub.add_response(
            "get_managed_scaling_policy", fixture("emr_get_managed_scaling_policy.json"), {"ClusterId": CLUSTER}
        )
        stub.add_response(
            "put_managed_scaling_policy",
            {},
            {
                "ClusterId": CLUSTER,
                "ManagedScalingPolicy": {
                    "ComputeLimits": {
                        "UnitType": "Instances",
                        "MinimumCapacityUnits": 2,
                        "MaximumCapacityUnits": 9,
                        "MaximumOnDemandCapacityUnits": 9,
                        "MaximumCoreCapacityUnits": 4,
                    },
                    "ScalingStrategy": "ADVANCED",
                    "UtilizationPerformanceIndex": 50,
                },
            },
        )
        # WHEN tuned
        EmrManagedScaling(client).tune(CLUSTER, TuneManagedScaling(from_limits=seen, to_limits=wanted, desired_units=9))
        # THEN exactly the re-read and the put happened, in EMR's request shape
        stub.assert_no_pending_responses()


def test_tune_refuses_a_policy_that_moved(client: Any) -> None:
    seen = ManagedScalingLimits(unit_type=ManagedScalingUnit.INSTANCES, minimum_units=2, maximum_units=30)
    wanted = seen.model_copy(update={"maximum_units": 9})
    with Stubber(client) as stub:
        stub.add_response(
            "get_managed_scaling_policy", fixture("emr_get_managed_scaling_policy.json"), {"ClusterId": CLUSTER}
        )
        with pytest.raises(GroupMovedError, match="moved since the decision"):
            EmrManagedScaling(client).tune(
                CLUSTER, TuneManagedScaling(from_limits=seen, to_limits=wanted, desired_units=9)
            )


def test_the_request_model_refuses_what_emr_would(client: Any) -> None:
    # GIVEN a policy without its required UnitType: botocore's model refuses it before any call, as EMR would
    with Stubber(client) as stub:
        stub.add_response("put_managed_scaling_policy", {})
        with pytest.raises(ParamValidationError):
            client.put_managed_scaling_policy(
                ClusterId=CLUSTER, ManagedScalingPolicy={"ComputeLimits": {"MinimumCapacityUnits": 1}}
            )


def test_list_instance_groups_reads_a_groups_automatic_scaling_policy(client: Any) -> None:
    # GIVEN ListInstanceGroups' documented answer: a TASK group with the console's default scaling rules attached
    with Stubber(client) as stub:
        stub.add_response(
            "list_instance_groups", fixture("emr_list_instance_groups_autoscaling.json"), {"ClusterId": CLUSTER}
        )
        groups = EmrInstanceGroups(client).instance_groups(CLUSTER)
    # THEN the TASK group carries its policy's state, the others none
    by_role = {g.role: g for g in groups}
    assert by_role[GroupRole.TASK].auto_scaling_policy == "ATTACHED"
    assert by_role[GroupRole.CORE].auto_scaling_policy is None
    assert by_role[GroupRole.MASTER].auto_scaling_policy is None


@pytest.mark.network
def test_the_sandboxs_emulated_managed_scaling_round_trips_through_the_adapter() -> None:
    # GIVEN a local AWS (moto server; managed scaling answered by the sandbox's emulator) and a cluster
    from emr_autoscaler_dev.sandbox.local_aws import LocalAws
    from emr_autoscaler_dev.sandbox.provision import create_cluster

    with LocalAws() as aws:
        emr = aws.client("emr")
        cluster_id = create_cluster(emr)
        adapter = EmrManagedScaling(emr)
        # WHEN no policy is attached, THEN none reads back
        assert adapter.limits(cluster_id) is None
        # WHEN one is put as a team would, THEN the adapter reads it as EMR documents it
        emr.put_managed_scaling_policy(
            ClusterId=cluster_id,
            ManagedScalingPolicy={
                "ComputeLimits": {
                    "UnitType": "VCPU",
                    "MinimumCapacityUnits": 8,
                    "MaximumCapacityUnits": 80,
                    "MaximumCoreCapacityUnits": 16,
                }
            },
        )
        seen = adapter.limits(cluster_id)
        assert seen == ManagedScalingLimits(
            unit_type=ManagedScalingUnit.VCPU, minimum_units=8, maximum_units=80, maximum_core_units=16
        )
        # AND a tune writes what it says
        wanted = seen.model_copy(update={"maximum_units": 36})
        adapter.tune(cluster_id, TuneManagedScaling(from_limits=seen, to_limits=wanted, desired_units=36))
        assert adapter.limits(cluster_id) == wanted
        # WHEN limits that cannot hold together are put, THEN EMR (emulated) refuses them
        with pytest.raises(emr.exceptions.ClientError, match="InvalidRequestException"):
            emr.put_managed_scaling_policy(
                ClusterId=cluster_id,
                ManagedScalingPolicy={
                    "ComputeLimits": {
                        "UnitType": "VCPU",
                        "MinimumCapacityUnits": 8,
                        "MaximumCapacityUnits": 20,
                        "MaximumCoreCapacityUnits": 40,
                    }
                },
            )
        # WHEN removed, THEN none reads back
        emr.remove_managed_scaling_policy(ClusterId=cluster_id)
        assert adapter.limits(cluster_id) is None
