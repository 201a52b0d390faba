"""Fakes of the ports: in-memory, recording every call, able to inject the next error (no mocks, no network)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.kernel.config.document import ConfigDocument, ConfigInvalidError, parse_config
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.events import AppEvent
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    InstanceFleetCapacity,
    InstanceGroupCapacity,
    InstanceLocation,
    ManagedScalingLimits,
    YarnMetrics,
)
from emr_autoscaler.scaling.domain.decisions import (
    ResizeInstanceFleet,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
    TuneManagedScaling,
)
from emr_autoscaler.scaling.ports import GroupMovedError


@dataclass
class FakeEmr:
    """FakeEmr holds clusters by id; `resize` applies commands at once, or raises `next_resize_error` once."""

    clusters: dict[str, ClusterSnapshot] = field(default_factory=dict)
    resizes: list[tuple[str, tuple[ResizeInstanceGroup, ...]]] = field(default_factory=list)
    next_resize_error: Exception | None = None
    calls: list[str] = field(default_factory=list)

    def add(self, snapshot: ClusterSnapshot) -> None:
        self.clusters[snapshot.cluster_id] = snapshot

    def describe(self, cluster_id: str) -> ClusterSnapshot:
        self.calls.append(f"describe {cluster_id}")
        if cluster_id not in self.clusters:
            raise ClusterNotFoundError(cluster_id)
        return self.clusters[cluster_id].model_copy(update={"groups": ()})

    def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
        self.calls.append(f"instance_groups {cluster_id}")
        return self.clusters[cluster_id].groups

    def list_active_cluster_ids(self) -> list[str]:
        self.calls.append("list")
        return [c.cluster_id for c in self.clusters.values() if c.state in ("RUNNING", "WAITING")]

    def resize(self, cluster_id: str, commands: Sequence[ResizeInstanceGroup]) -> None:
        self.calls.append(f"resize {cluster_id}")
        if self.next_resize_error is not None:
            error, self.next_resize_error = self.next_resize_error, None
            raise error
        snapshot = self.clusters[cluster_id]
        groups = {g.group_id: g for g in snapshot.groups}
        for command in commands:
            if groups[command.group_id].requested_count != command.from_count:
                raise GroupMovedError(f"{command.group_id} moved")
            groups[command.group_id] = groups[command.group_id].model_copy(
                update={"requested_count": command.to_count, "running_count": command.to_count}
            )
        self.clusters[cluster_id] = snapshot.model_copy(update={"groups": tuple(groups.values())})
        self.resizes.append((cluster_id, tuple(commands)))


@dataclass
class FakeManagedScaling:
    """FakeManagedScaling holds each cluster's managed scaling limits; `limits` raises `next_error` once (and
    `always_error` every time); `tune` checks what the command saw and records it."""

    policies: dict[str, ManagedScalingLimits] = field(default_factory=dict)
    tunes: list[tuple[str, TuneManagedScaling]] = field(default_factory=list)
    next_error: Exception | None = None
    always_error: Exception | None = None
    reads: int = 0

    def limits(self, cluster_id: str) -> ManagedScalingLimits | None:
        self.reads += 1
        if self.always_error is not None:
            raise self.always_error
        if self.next_error is not None:
            error, self.next_error = self.next_error, None
            raise error
        return self.policies.get(cluster_id)

    def tune(self, cluster_id: str, command: TuneManagedScaling) -> None:
        if self.policies.get(cluster_id) != command.from_limits:
            raise GroupMovedError("managed scaling policy moved")
        self.policies[cluster_id] = command.to_limits
        self.tunes.append((cluster_id, command))


@dataclass
class FakeInstanceDirectory:
    """FakeInstanceDirectory is EC2's DescribeInstances: the cluster each instance's EMR tag names (`owners`), or
    `error` (throttled, refused) raised; `asked` records every instance asked for."""

    owners: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    asked: list[str] = field(default_factory=list)

    def cluster_of(self, ec2_instance_id: str) -> str | None:
        self.asked.append(ec2_instance_id)
        if self.error is not None:
            raise self.error
        return self.owners.get(ec2_instance_id)


@dataclass
class FakeFleets:
    """FakeFleets holds fleets per cluster id; `resize_fleets` sets the targets and provisions them at once."""

    fleets: dict[str, tuple[InstanceFleetCapacity, ...]] = field(default_factory=dict)
    resizes: list[tuple[str, tuple[ResizeInstanceFleet, ...]]] = field(default_factory=list)
    instances: list[InstanceLocation] = field(default_factory=list)
    located: list[str] = field(default_factory=list)
    lost: list[InstanceLocation] = field(default_factory=list)

    def locate_instance(self, cluster_id: str, ec2_instance_id: str) -> InstanceLocation | None:
        self.located.append(cluster_id)
        return next(
            (i for i in self.instances if i.cluster_id == cluster_id and i.ec2_instance_id == ec2_instance_id), None
        )

    def instance_fleets(self, cluster_id: str) -> tuple[InstanceFleetCapacity, ...]:
        return self.fleets[cluster_id]

    def lost_instances(self, cluster_id: str, owner_id: str, since: datetime) -> tuple[InstanceLocation, ...]:
        return tuple(i for i in self.lost if i.cluster_id == cluster_id and owner_id in (i.fleet_id, i.group_id))

    def resize_fleets(self, cluster_id: str, commands: Sequence[ResizeInstanceFleet]) -> None:
        by_id = {f.fleet_id: f for f in self.fleets[cluster_id]}
        for command in commands:
            current = by_id[command.group_id]
            if (current.target_on_demand, current.target_spot) != (command.from_on_demand, command.from_spot):
                raise GroupMovedError(f"{command.group_id} moved")
            by_id[command.group_id] = current.model_copy(
                update={
                    "target_on_demand": command.to_on_demand,
                    "target_spot": command.to_spot,
                    "provisioned_on_demand": command.to_on_demand,
                    "provisioned_spot": command.to_spot,
                }
            )
        self.fleets[cluster_id] = tuple(by_id.values())
        self.resizes.append((cluster_id, tuple(commands)))


@dataclass
class FakeMetrics:
    """FakeMetrics answers with `value` (or None) for every cluster."""

    value: YarnMetrics | None = None

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        return self.value


@dataclass
class InMemoryStateStore:
    """InMemoryStateStore has the table's conditional-write semantics: a write must name the version it read."""

    states: dict[str, ScalingState] = field(default_factory=dict)
    records: list[tuple[str, str, str]] = field(default_factory=list)
    lose_next_race: bool = False

    def load(self, cluster_id: str) -> ScalingState:
        return self.states.get(cluster_id, ScalingState(cluster_id=cluster_id))

    def save(self, state: ScalingState, expected_version: int) -> bool:
        if self.lose_next_race:
            self.lose_next_race = False
            return False
        if self.load(state.cluster_id).version != expected_version:
            return False
        self.states[state.cluster_id] = state.model_copy(update={"version": expected_version + 1})
        return True

    def record(self, plan: ResizePlan, outcome: str) -> None:
        self.records.append((plan.cluster_id, plan.reason.value, outcome))


@dataclass
class StaticConfig:
    """StaticConfig serves one document, or raises ConfigInvalidError when `document` is None."""

    document: ConfigDocument | None = field(default_factory=lambda: parse_config({}))

    def current(self) -> ConfigDocument:
        if self.document is None:
            raise ConfigInvalidError("defaults.scale_in.cooldown_s: Input should be greater than or equal to 0")
        return self.document


@dataclass
class RecordingSink:
    """RecordingSink keeps every published decision."""

    published: list[tuple[str, str, str]] = field(default_factory=list)

    def publish(self, plan: ResizePlan, outcome: str, latency_ms: float | None = None) -> None:
        self.published.append((plan.cluster_id, plan.reason.value, outcome))


class RecordingPublisher:
    """RecordingPublisher keeps the application's events in memory instead of putting them on a bus."""

    def __init__(self) -> None:
        self.events: list[AppEvent] = []

    def publish(self, events: Sequence[AppEvent]) -> None:
        """Publish records the events."""
        self.events.extend(events)


@contextmanager
def no_log_context(cluster_id: str) -> Iterator[None]:
    """No_log_context stands in for Powertools' per-cluster log keys."""
    yield
