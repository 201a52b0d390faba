"""FleetEmulator: EMR instance fleets, which moto 5 does not have, emulated where the autoscaler can tell.

What it follows of AWS's documentation:
- RunJobFlow's `Instances.InstanceFleets` starts a cluster whose DescribeCluster says
  `InstanceCollectionType: INSTANCE_FLEET`, and whose ListInstanceGroups answers InvalidRequestException
  (https://docs.aws.amazon.com/emr/latest/APIReference/API_ListInstanceGroups.html: not for fleet clusters);
- ListInstanceFleets reports targets and provisioned capacity per market in units (each node counts its type's
  WeightedCapacity), ModifyInstanceFleet sets new targets; the fleet is RESIZING until it has them
  (https://docs.aws.amazon.com/emr/latest/APIReference/API_ModifyInstanceFleet.html);
- a Spot request that cannot be filled stays unfilled; after the resize's SpotResizeSpecification
  TimeoutDurationMinutes EMR stops asking and emits `EMR Instance Fleet Resize` with eventCode
  `Spot Provisioning timeout` (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-timeout-events.html);
  while short it emits `EMR Instance Fleet Provisioning` with `EC2 provisioning - Insufficient Instance Capacity`
  (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-insuff-capacity.html);
- a reclaimed Spot node gets EC2's `EC2 Spot Instance Interruption Warning` two minutes before it goes
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html); EMR then
  provisions the fleet back to its target.
Capacity arrives whole: a grown market reaches its target `start_delay` after the request (a shrink after
`decommission`), units are exact (no overshoot by a node's weight).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY
from emr_autoscaler_dev.sandbox.clock import Clock

Emit = Callable[[str, str, dict[str, Any]], None]

_ids = (f"if-{n:013d}" for n in itertools.count(1))
_instances = (f"i-{n:017x}" for n in itertools.count(0xA000))


# Launch(cluster id, role, instance type, count) starts `count` Spot EC2 instances of the cluster and returns their ids.
Launch = Callable[[str, str, str, int], list[str]]


def _get(item: Any, camel: str, snake: str, default: Any = None) -> Any:
    """Moto hands request parameters over with snake_case keys; plain dicts have the API's CamelCase."""
    if snake in item:
        return item[snake]
    return item.get(camel, default)


@dataclass
class _Market:
    target: int = 0
    provisioned: int = 0
    asked_at: datetime | None = None
    timeout_minutes: int | None = None
    given_up: bool = False
    short_reported: bool = False

    def settled(self) -> bool:
        return self.target == self.provisioned or self.given_up


@dataclass
class _Fleet:
    fleet_id: str
    name: str
    role: str
    types: list[tuple[str, int]]
    on_demand: _Market = field(default_factory=_Market)
    spot: _Market = field(default_factory=_Market)
    resizing: bool = False

    @property
    def state(self) -> str:
        return "RUNNING" if self.on_demand.settled() and self.spot.settled() else "RESIZING"

    def as_api(self) -> dict[str, Any]:
        """The fleet as ListInstanceFleets returns it (API_InstanceFleet.html)."""
        return {
            "Id": self.fleet_id,
            "Name": self.name,
            "Status": {"State": self.state, "StateChangeReason": {}, "Timeline": {}},
            "InstanceFleetType": self.role,
            "TargetOnDemandCapacity": self.on_demand.target,
            "TargetSpotCapacity": self.spot.target,
            "ProvisionedOnDemandCapacity": self.on_demand.provisioned,
            "ProvisionedSpotCapacity": self.spot.provisioned,
            "InstanceTypeSpecifications": [
                {"InstanceType": t, "WeightedCapacity": w, "BidPriceAsPercentageOfOnDemandPrice": 100.0}
                for t, w in self.types
            ],
        }


class FleetEmulator:
    """FleetEmulator keeps each fleet cluster's fleets and moves their capacity on the sandbox clock."""

    def __init__(
        self,
        clock: Clock,
        emit: Emit,
        on_line: Callable[[str], None],
        start_delay: timedelta,
        decommission: timedelta,
        launch: Launch | None = None,
    ) -> None:
        self.clock = clock
        self.launch = launch
        self.emit = emit
        self.on_line = on_line
        self.start_delay = start_delay
        self.decommission = decommission
        self._fleets: dict[str, list[_Fleet]] = {}
        self._starved_until: dict[str, datetime] = {}
        self._lost: list[tuple[datetime, str, str, int]] = []
        # The instances ListInstances reports: those Spot interruptions name (the rest of a fleet's nodes are not
        # modelled one by one), until EC2 reclaims them.
        self._instances: dict[str, list[dict[str, Any]]] = {}
        self.interruptions: dict[str, int] = {}

    def knows(self, cluster_id: str) -> bool:
        """Knows is true for a fleet cluster."""
        return cluster_id in self._fleets

    def launched(self, cluster_id: str, configs: list[Any]) -> None:
        """Launched registers RunJobFlow's `Instances.InstanceFleets`; the fleets start with what they ask for."""
        fleets = []
        for config in configs:
            types = [
                (
                    str(_get(t, "InstanceType", "instance_type")),
                    int(_get(t, "WeightedCapacity", "weighted_capacity", 1)),
                )
                for t in _get(config, "InstanceTypeConfigs", "instance_type_configs", [])
            ]
            on_demand = int(_get(config, "TargetOnDemandCapacity", "target_on_demand_capacity", 0) or 0)
            spot = int(_get(config, "TargetSpotCapacity", "target_spot_capacity", 0) or 0)
            role = str(_get(config, "InstanceFleetType", "instance_fleet_type"))
            fleets.append(
                _Fleet(
                    fleet_id=next(_ids),
                    name=str(_get(config, "Name", "name", role.title())),
                    role=role,
                    types=types,
                    on_demand=_Market(target=on_demand, provisioned=on_demand),
                    spot=_Market(target=spot, provisioned=spot),
                )
            )
        self._fleets[cluster_id] = fleets

    def listed(self, cluster_id: str) -> list[dict[str, Any]]:
        """Listed is ListInstanceFleets' `InstanceFleets`."""
        return [f.as_api() for f in self._fleets[cluster_id]]

    def fleet(self, cluster_id: str, role: str = "TASK") -> dict[str, Any]:
        """Fleet is one fleet of the cluster as ListInstanceFleets reports it."""
        return next(f.as_api() for f in self._fleets[cluster_id] if f.role == role)

    def modify(self, cluster_id: str, config: Any) -> None:
        """Modify applies ModifyInstanceFleet's `InstanceFleet`: new targets, and the Spot timeout if given."""
        fleet_id = _get(config, "InstanceFleetId", "instance_fleet_id")
        fleet = next(f for f in self._fleets[cluster_id] if f.fleet_id == fleet_id)
        now = self.clock.now
        specs = _get(config, "ResizeSpecifications", "resize_specifications") or {}
        spot_spec = _get(specs, "SpotResizeSpecification", "spot_resize_specification") or {}
        timeout = _get(spot_spec, "TimeoutDurationMinutes", "timeout_duration_minutes")
        for market, key, snake in (
            (fleet.on_demand, "TargetOnDemandCapacity", "target_on_demand_capacity"),
            (fleet.spot, "TargetSpotCapacity", "target_spot_capacity"),
        ):
            target = _get(config, key, snake)
            if target is None or int(target) == market.target:
                continue
            market.target, market.asked_at = int(target), now
            market.given_up = market.short_reported = False
        if timeout is not None:
            fleet.spot.timeout_minutes = int(timeout)
        fleet.resizing = True
        self.on_line(
            f"{now:%H:%M} EMR      {fleet.name} fleet resizing to On-Demand {fleet.on_demand.target} / "
            f"Spot {fleet.spot.target} units"
        )

    def starve_spot(self, cluster_id: str, minutes: int) -> None:
        """Starve_spot leaves the cluster's Spot requests unfilled for `minutes` (EC2 has no Spot capacity)."""
        self._starved_until[cluster_id] = self.clock.now + timedelta(minutes=minutes)
        self.on_line(f"{self.clock.now:%H:%M} EC2      no Spot capacity for {minutes} min")

    def starved(self, cluster_id: str) -> bool:
        """Starved is true while `starve_spot` keeps the cluster's Spot requests unfilled (fleets and groups)."""
        return self._starved_until.get(cluster_id, self.clock.now) > self.clock.now

    def interrupt_spot(self, cluster_id: str, count: int) -> list[str]:
        """Interrupt_spot warns that `count` Spot nodes of the TASK fleet go in two minutes (EC2's event), then
        they are lost; EMR provisions the fleet back to its target afterwards. Returns the instance ids."""
        fleet = next(f for f in self._fleets[cluster_id] if f.role == "TASK")
        instance_type, weight = fleet.types[0]
        count = min(count, fleet.spot.provisioned // weight)
        if self.launch is not None:  # real EC2 instances (moto), tagged by "EMR": DescribeInstances names the cluster
            ids = self.launch(cluster_id, fleet.role, instance_type, count)
        else:
            ids = [next(_instances) for _ in range(count)]
        self._instances.setdefault(cluster_id, []).extend(
            {
                "Id": f"ci-{instance_id[2:]}",
                "Ec2InstanceId": instance_id,
                "Status": {"State": "RUNNING"},
                "InstanceFleetId": fleet.fleet_id,
                "Market": "SPOT",
                "InstanceType": instance_type,
            }
            for instance_id in ids
        )
        for instance_id in ids:
            self.emit(
                "aws.ec2",
                "EC2 Spot Instance Interruption Warning",
                {"instance-id": instance_id, "instance-action": "terminate"},
            )
        self._lost.append((self.clock.now + timedelta(minutes=2), cluster_id, fleet.fleet_id, count * weight))
        self.interruptions[instance_type] = self.interruptions.get(instance_type, 0) + count
        self.on_line(f"{self.clock.now:%H:%M} EC2      {count} Spot {instance_type} node(s) to be reclaimed in 2 min")
        return ids

    def instances(self, cluster_id: str) -> list[dict[str, Any]]:
        """Instances is ListInstances' `Instances` for a fleet cluster (see `_instances`)."""
        return list(self._instances.get(cluster_id, []))

    def yarn_capacity(self, cluster_id: str) -> tuple[int, int, int]:
        """Yarn_capacity is (units, MB per unit, vcores per unit) of the CORE and TASK fleets, as YARN sees them."""
        units = memory = vcores = 0
        for fleet in self._fleets[cluster_id]:
            if fleet.role == "MASTER":
                continue
            units += fleet.on_demand.provisioned + fleet.spot.provisioned
            for instance_type, weight in fleet.types:
                node = DEFAULT_NODE_CAPACITY.get(instance_type)
                if node is not None:
                    memory = min(memory or node.memory_mb // weight, node.memory_mb // weight)
                    vcores = min(vcores or max(1, node.vcores // weight), max(1, node.vcores // weight))
        return units, memory or 3072, vcores or 1

    def tick(self) -> list[str]:
        """Tick moves every fleet to the clock's time; returns the clusters whose capacity changed."""
        now = self.clock.now
        changed: set[str] = set()
        for due, cluster_id, fleet_id, units in [lost for lost in self._lost if lost[0] <= now]:
            self._lost.remove((due, cluster_id, fleet_id, units))
            fleet = next(f for f in self._fleets[cluster_id] if f.fleet_id == fleet_id)
            fleet.spot.provisioned = max(0, fleet.spot.provisioned - units)
            self._instances[cluster_id] = [
                i for i in self._instances.get(cluster_id, []) if i["InstanceFleetId"] != fleet_id
            ]
            fleet.spot.asked_at, fleet.spot.given_up = now, False
            fleet.resizing = True
            changed.add(cluster_id)
            self.on_line(f"{now:%H:%M} EC2      {units} Spot unit(s) of {fleet.name} reclaimed")
        for cluster_id, fleets in self._fleets.items():
            starved = self._starved_until.get(cluster_id, now) > now
            for fleet in fleets:
                if self._move(cluster_id, fleet, fleet.on_demand, False) | self._move(
                    cluster_id, fleet, fleet.spot, starved
                ):
                    changed.add(cluster_id)
                if fleet.resizing and fleet.state == "RUNNING":
                    fleet.resizing = False
                    self._state_event(cluster_id, fleet)
        return sorted(changed)

    def _move(self, cluster_id: str, fleet: _Fleet, market: _Market, starved: bool) -> bool:
        now = self.clock.now
        if market.settled() or market.asked_at is None:
            return False
        if market.target < market.provisioned:
            if now - market.asked_at >= self.decommission:
                market.provisioned = market.target
                return True
            return False
        if starved:
            if not market.short_reported:
                market.short_reported = True
                self._provisioning_event(cluster_id, fleet)
            if market.timeout_minutes is not None and now - market.asked_at >= timedelta(
                minutes=market.timeout_minutes
            ):
                market.given_up = True
                self._timeout_event(cluster_id, fleet)
            return False
        if now - market.asked_at >= self.start_delay:
            market.provisioned = market.target
            return True
        return False

    def _detail(self, cluster_id: str, fleet: _Fleet) -> dict[str, Any]:
        return {"instanceFleetId": fleet.fleet_id, "instanceFleetType": fleet.role, "clusterId": cluster_id}

    def _state_event(self, cluster_id: str, fleet: _Fleet) -> None:
        self.on_line(
            f"{self.clock.now:%H:%M} EMR      {fleet.name} fleet now runs On-Demand {fleet.on_demand.provisioned} / "
            f"Spot {fleet.spot.provisioned} units"
        )
        self.emit(
            "aws.emr",
            "EMR Instance Fleet State Change",
            {
                "severity": "INFO",
                **self._detail(cluster_id, fleet),
                "targetOnDemandCapacity": str(fleet.on_demand.target),
                "targetSpotCapacity": str(fleet.spot.target),
                "provisionedOnDemandCapacity": str(fleet.on_demand.provisioned),
                "provisionedSpotCapacity": str(fleet.spot.provisioned),
                "state": "RUNNING",
                "message": f"The resizing operation for instance fleet {fleet.fleet_id} in Amazon EMR cluster "
                f"{cluster_id} is complete.",
            },
        )

    def _provisioning_event(self, cluster_id: str, fleet: _Fleet) -> None:
        self.on_line(f"{self.clock.now:%H:%M} EMR      {fleet.name} fleet: insufficient Spot capacity")
        self.emit(
            "aws.emr",
            "EMR Instance Fleet Provisioning",
            {
                "severity": "WARNING",
                "eventCode": "EC2 provisioning - Insufficient Instance Capacity",
                **self._detail(cluster_id, fleet),
                "message": f"We are not able to resize your Amazon EMR cluster {cluster_id} for instance fleet "
                f"{fleet.fleet_id} because Amazon EC2 has insufficient Spot capacity.",
            },
        )

    def _timeout_event(self, cluster_id: str, fleet: _Fleet) -> None:
        self.on_line(f"{self.clock.now:%H:%M} EMR      {fleet.name} fleet: Spot provisioning timed out")
        self.emit(
            "aws.emr",
            "EMR Instance Fleet Resize",
            {
                "severity": "WARNING",
                "eventCode": "Spot Provisioning timeout",
                **self._detail(cluster_id, fleet),
                "message": f"The resize for instance fleet {fleet.fleet_id} in Amazon EMR cluster {cluster_id} "
                f"stopped provisioning Spot capacity after the {fleet.spot.timeout_minutes}-minute timeout. The "
                f"instance fleet now has On-Demand capacity of {fleet.on_demand.provisioned} and Spot capacity of "
                f"{fleet.spot.provisioned}.",
            },
        )
