"""EmrManagedScaling: the ManagedScaling port over boto3's EMR client.

Two calls: GetManagedScalingPolicy (https://docs.aws.amazon.com/emr/latest/APIReference/API_GetManagedScalingPolicy.html),
once per evaluation of a cluster worth scaling, and PutManagedScalingPolicy
(https://docs.aws.amazon.com/emr/latest/APIReference/API_PutManagedScalingPolicy.html), only to tune a policy the
profile says to (`managed_scaling: tune`). A cluster without a policy answers with no `ManagedScalingPolicy` (or an
empty one). Put replaces the whole policy, so the strategy and utilization index it had are sent back unchanged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from emr_autoscaler.kernel.models import ManagedScalingLimits, ManagedScalingUnit
from emr_autoscaler.scaling.domain.decisions import TuneManagedScaling
from emr_autoscaler.scaling.ports import GroupMovedError, OtherScalerUnreadableError

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient

logger = logging.getLogger(__name__)

_UNITS = {u.value for u in ManagedScalingUnit}


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} is {type(value).__name__}, not an integer")
    return value


def limits_from(answer: Any) -> ManagedScalingLimits | None:
    """Limits_from reads GetManagedScalingPolicy's answer: None when no policy is attached; raises ValueError on a
    shape it does not know (so the caller holds rather than guesses)."""
    if not isinstance(answer, dict):
        raise ValueError(f"the answer is {type(answer).__name__}, not an object")
    policy = answer.get("ManagedScalingPolicy")
    if policy is None or policy == {}:
        return None
    if not isinstance(policy, dict):
        raise ValueError(f"ManagedScalingPolicy is {type(policy).__name__}, not an object")
    limits = policy.get("ComputeLimits")
    if not isinstance(limits, dict):
        raise ValueError("ManagedScalingPolicy has no ComputeLimits")
    unit = limits.get("UnitType")
    if unit not in _UNITS:
        raise ValueError(f"UnitType {str(unit)[:40]!r} is not one of {', '.join(sorted(_UNITS))}")
    minimum = _int_or_none(limits.get("MinimumCapacityUnits"), "MinimumCapacityUnits")
    maximum = _int_or_none(limits.get("MaximumCapacityUnits"), "MaximumCapacityUnits")
    if minimum is None or maximum is None:
        raise ValueError("ComputeLimits lacks MinimumCapacityUnits or MaximumCapacityUnits")
    strategy = policy.get("ScalingStrategy")
    return ManagedScalingLimits(
        unit_type=ManagedScalingUnit(unit),
        minimum_units=minimum,
        maximum_units=maximum,
        maximum_on_demand_units=_int_or_none(
            limits.get("MaximumOnDemandCapacityUnits"), "MaximumOnDemandCapacityUnits"
        ),
        maximum_core_units=_int_or_none(limits.get("MaximumCoreCapacityUnits"), "MaximumCoreCapacityUnits"),
        scaling_strategy=str(strategy) if strategy is not None else None,
        utilization_performance_index=_int_or_none(
            policy.get("UtilizationPerformanceIndex"), "UtilizationPerformanceIndex"
        ),
    )


def policy_for(limits: ManagedScalingLimits) -> dict[str, Any]:
    """Policy_for is PutManagedScalingPolicy's `ManagedScalingPolicy` for these limits (optional fields as given)."""
    compute: dict[str, Any] = {
        "UnitType": limits.unit_type.value,
        "MinimumCapacityUnits": limits.minimum_units,
        "MaximumCapacityUnits": limits.maximum_units,
    }
    if limits.maximum_on_demand_units is not None:
        compute["MaximumOnDemandCapacityUnits"] = limits.maximum_on_demand_units
    if limits.maximum_core_units is not None:
        compute["MaximumCoreCapacityUnits"] = limits.maximum_core_units
    policy: dict[str, Any] = {"ComputeLimits": compute}
    if limits.scaling_strategy is not None:
        policy["ScalingStrategy"] = limits.scaling_strategy
    if limits.utilization_performance_index is not None:
        policy["UtilizationPerformanceIndex"] = limits.utilization_performance_index
    return policy


class EmrManagedScaling:
    """EmrManagedScaling reads and tunes managed scaling policies through one injected EMR client."""

    def __init__(self, client: EMRClient) -> None:
        self._client = client

    def limits(self, cluster_id: str) -> ManagedScalingLimits | None:
        """Limits is the attached policy's limits (None: none attached).

        Any refusal (AccessDenied, throttling after botocore's retries, a timeout) or unknown shape raises
        OtherScalerUnreadableError: the scaler cannot tell whether another scaler drives the cluster, so it holds.
        """
        try:
            answer = self._client.get_managed_scaling_policy(ClusterId=cluster_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            message = error.response.get("Error", {}).get("Message", "")
            raise OtherScalerUnreadableError(f"GetManagedScalingPolicy refused: {code}: {message[:160]}") from error
        except BotoCoreError as error:
            raise OtherScalerUnreadableError(f"GetManagedScalingPolicy failed: {str(error)[:160]}") from error
        try:
            return limits_from(answer)
        except (ValueError, ValidationError) as error:
            raise OtherScalerUnreadableError(
                f"GetManagedScalingPolicy answered a shape the scaler cannot read: {str(error)[:160]}"
            ) from error

    def tune(self, cluster_id: str, command: TuneManagedScaling) -> None:
        """Tune re-reads the policy, refuses (GroupMovedError) when it is no longer what the decision saw, then puts
        the new limits."""
        current = self.limits(cluster_id)
        if current != command.from_limits:
            seen = current.describe() if current is not None else "none attached"
            expected = command.from_limits.describe()
            raise GroupMovedError(f"the managed scaling policy moved since the decision: {seen}, expected {expected}")
        policy = policy_for(command.to_limits)
        self._client.put_managed_scaling_policy(ClusterId=cluster_id, ManagedScalingPolicy=policy)  # type: ignore[arg-type]
        logger.info("managed scaling tuned", extra={"cluster_id": cluster_id, "managed_scaling_policy": policy})
