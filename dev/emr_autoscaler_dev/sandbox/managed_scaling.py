"""ManagedScalingEmulator: EMR Managed Scaling, which moto 5 does not have, emulated where the autoscaler can tell.

What it follows of AWS's documentation:
- GetManagedScalingPolicy answers the attached policy, or no `ManagedScalingPolicy` at all when none is attached
  (https://docs.aws.amazon.com/emr/latest/APIReference/API_GetManagedScalingPolicy.html);
- PutManagedScalingPolicy replaces the whole policy; EMR refuses limits that cannot hold together (a minimum above the
  maximum, an On-Demand or CORE cap above the maximum) with InvalidRequestException
  (https://docs.aws.amazon.com/emr/latest/APIReference/API_PutManagedScalingPolicy.html,
  https://docs.aws.amazon.com/emr/latest/APIReference/API_ComputeLimits.html);
  RemoveManagedScalingPolicy detaches it (API_RemoveManagedScalingPolicy.html);
- managed scaling itself resizes an instance-group cluster's TASK group to fit the YARN demand within the limits,
  every minute here (EMR evaluates every 5 to 10 seconds and resizes as its algorithm decides,
  https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-scaling.html): capacity above a lowered
  maximum goes, and demand grows the cluster up to the maximum, never beyond. Its resizes take the emulator's start
  delay like any other. Fleet clusters keep their policy (get/put/remove) but are not resized by it here.
`fail(cluster_id, code)` makes GetManagedScalingPolicy answer an error (AccessDeniedException, ThrottlingException...).
Requests reach it through a boto3 client, so botocore checks each against EMR's real API model first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY
from emr_autoscaler_dev.sandbox.local_aws import moto_backends

if TYPE_CHECKING:
    from emr_autoscaler_dev.sandbox.emr import EmrEmulator


def _api_shape(item: Any) -> Any:
    """Moto may hand request parameters over with snake_case keys: back to the API's CamelCase, as EMR stores them."""
    if isinstance(item, Mapping):
        return {_CAMEL.get(str(k), str(k)): _api_shape(v) for k, v in item.items()}
    return item


_CAMEL = {
    "compute_limits": "ComputeLimits",
    "unit_type": "UnitType",
    "minimum_capacity_units": "MinimumCapacityUnits",
    "maximum_capacity_units": "MaximumCapacityUnits",
    "maximum_on_demand_capacity_units": "MaximumOnDemandCapacityUnits",
    "maximum_core_capacity_units": "MaximumCoreCapacityUnits",
    "scaling_strategy": "ScalingStrategy",
    "utilization_performance_index": "UtilizationPerformanceIndex",
}


@dataclass
class ManagedScalingEmulator:
    """ManagedScalingEmulator keeps each cluster's policy (the API's `ManagedScalingPolicy` shape) and resizes.

    Without an EmrEmulator (plain moto in tests) it answers the API only: managed scaling resizes nothing."""

    emulator: EmrEmulator | None = None
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Every policy written through PutManagedScalingPolicy, in order: (cluster id, the policy).
    puts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Every resize managed scaling made itself: (cluster id, TASK group id, from, to).
    resizes: list[tuple[str, str, int, int]] = field(default_factory=list)

    def attach(
        self,
        cluster_id: str,
        minimum: int = 2,
        maximum: int = 20,
        unit_type: str = "Instances",
        maximum_on_demand: int | None = None,
        maximum_core: int | None = None,
    ) -> dict[str, Any]:
        """Attach puts a policy on the cluster, as `aws emr put-managed-scaling-policy` would; returns it."""
        limits: dict[str, Any] = {
            "UnitType": unit_type,
            "MinimumCapacityUnits": minimum,
            "MaximumCapacityUnits": maximum,
        }
        if maximum_on_demand is not None:
            limits["MaximumOnDemandCapacityUnits"] = maximum_on_demand
        if maximum_core is not None:
            limits["MaximumCoreCapacityUnits"] = maximum_core
        policy = {"ComputeLimits": limits}
        assert self.emulator is not None, "attach needs the sandbox's EMR emulator"
        self.emulator.emr.put_managed_scaling_policy(ClusterId=cluster_id, ManagedScalingPolicy=policy)
        return policy

    def fail(self, cluster_id: str, code: str | None) -> None:
        """Fail makes GetManagedScalingPolicy answer error `code` for the cluster (None: answer again)."""
        if code is None:
            self.errors.pop(cluster_id, None)
        else:
            self.errors[cluster_id] = code

    def limits(self, cluster_id: str) -> dict[str, Any] | None:
        """Limits is the cluster's ComputeLimits now, or None."""
        policy = self.policies.get(cluster_id)
        return dict(policy["ComputeLimits"]) if policy else None

    # ------------------------------------------------------------------ the API
    def get(self, cluster_id: str) -> dict[str, Any]:
        code = self.errors.get(cluster_id)
        if code is not None:
            raise _error(code, f"injected by the sandbox for {cluster_id}")
        self._known(cluster_id)
        policy = self.policies.get(cluster_id)
        return {"ManagedScalingPolicy": policy} if policy else {}

    def put(self, cluster_id: str, policy: dict[str, Any]) -> None:
        self._known(cluster_id)
        limits = policy.get("ComputeLimits") or {}
        maximum = int(limits.get("MaximumCapacityUnits", 0))
        if int(limits.get("MinimumCapacityUnits", 0)) > maximum:
            raise _error("InvalidRequestException", "MinimumCapacityUnits must not exceed MaximumCapacityUnits.")
        for cap in ("MaximumOnDemandCapacityUnits", "MaximumCoreCapacityUnits"):
            if cap in limits and int(limits[cap]) > maximum:
                raise _error("InvalidRequestException", f"{cap} must not exceed MaximumCapacityUnits.")
        stored = {key: value for key, value in policy.items() if value is not None}
        self.policies[cluster_id] = stored
        self.puts.append((cluster_id, stored))
        if self.emulator is not None:
            self.emulator.on_line(
                f"{self.emulator.clock.now:%H:%M} EMR      managed scaling limits of {cluster_id}: "
                f"{limits.get('MinimumCapacityUnits')}..{maximum} {limits.get('UnitType')}"
            )

    def remove(self, cluster_id: str) -> None:
        self._known(cluster_id)
        self.policies.pop(cluster_id, None)

    def _known(self, cluster_id: str) -> None:
        if not any(cluster_id in backend.clusters for backend in moto_backends("emr")):
            raise _error("InvalidRequestException", f"Cluster id '{cluster_id}' is not valid.")

    # ------------------------------------------------------------------ managed scaling's own resizes
    def tick(self) -> None:
        """Tick lets managed scaling resize each instance-group cluster that has a policy (see the module)."""
        for cluster_id, policy in self.policies.items():
            if self.emulator is None or self.emulator.fleets.knows(cluster_id):
                continue
            self._resize(cluster_id, policy["ComputeLimits"])

    def _resize(self, cluster_id: str, limits: dict[str, Any]) -> None:
        assert self.emulator is not None  # tick skips clusters without one
        groups = [
            g
            for backend in moto_backends("emr")
            for g in backend.instance_groups.values()
            if g.cluster_id == cluster_id and g.role in ("CORE", "TASK")
        ]
        task = next((g for g in groups if g.role == "TASK"), None)
        if task is None or self.emulator.resizing(task):
            return
        capacity = DEFAULT_NODE_CAPACITY.get(task.instance_type)
        if capacity is None:
            return
        per_node = capacity.vcores if limits["UnitType"] == "VCPU" else 1
        demand_mb = self.emulator.demand_mb(cluster_id)
        wanted = max(int(limits["MinimumCapacityUnits"]), math.ceil(demand_mb / capacity.memory_mb) * per_node)
        wanted = min(wanted, int(limits["MaximumCapacityUnits"]))
        other_units = sum(int(g.num_instances) for g in groups if g is not task) * per_node
        target = max(0, (wanted - other_units) // per_node)
        if target == int(task.num_instances):
            return
        self.resizes.append((cluster_id, task.id, int(task.num_instances), target))
        self.emulator.on_line(
            f"{self.emulator.clock.now:%H:%M} EMR      managed scaling resizes {task.name} "
            f"{task.num_instances} → {target}"
        )
        backend = next(b for b in moto_backends("emr") if cluster_id in b.clusters)
        backend.modify_instance_groups([{"instance_group_id": task.id, "instance_count": target}])


def _error(code: str, message: str) -> Exception:
    """An EMR error moto serializes with `code` (its class's module names the service)."""
    from moto.emr import exceptions

    injected = type(code, (exceptions.ValidationException,), {"code": code, "__module__": exceptions.__name__})
    return injected(message)  # type: ignore[no-any-return]


def patch_managed_scaling(managed: ManagedScalingEmulator) -> Callable[[], None]:
    """Patch_managed_scaling answers EMR's three managed scaling calls from `managed`; returns the restorer."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.emr import responses

    responses_cls = responses.ElasticMapReduceResponse
    names = ("get_managed_scaling_policy", "put_managed_scaling_policy", "remove_managed_scaling_policy")
    # A patch already in place (the tests' plain-moto stand-in) comes back when this one is undone.
    saved = {name: responses_cls.__dict__.get(name) for name in names}

    def get_managed_scaling_policy(self: Any) -> Any:
        return ActionResult(managed.get(self._get_param("ClusterId")))

    def put_managed_scaling_policy(self: Any) -> Any:
        managed.put(self._get_param("ClusterId"), _api_shape(self._get_param("ManagedScalingPolicy")) or {})
        return EmptyResult()

    def remove_managed_scaling_policy(self: Any) -> Any:
        managed.remove(self._get_param("ClusterId"))
        return EmptyResult()

    responses_cls.get_managed_scaling_policy = get_managed_scaling_policy  # type: ignore[attr-defined]
    responses_cls.put_managed_scaling_policy = put_managed_scaling_policy  # type: ignore[attr-defined]
    responses_cls.remove_managed_scaling_policy = remove_managed_scaling_policy  # type: ignore[attr-defined]

    def restore() -> None:
        for name, previous in saved.items():
            if previous is None:
                delattr(responses_cls, name)
            else:
                setattr(responses_cls, name, previous)

    return restore
