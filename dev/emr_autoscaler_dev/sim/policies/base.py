"""What every simulated scaling policy is: a planner the engine calls at its cadence, returning group resizes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler_dev.sim.cluster import SimCluster, SimGroup
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed

# EMR's default YARN graceful decommission timeout (yarn.resourcemanager.decommissioning.timeout), s.
DEFAULT_DECOMMISSION_TIMEOUT_S = 3600.0


@dataclass(frozen=True, slots=True)
class GroupResize:
    """GroupResize asks the simulated EMR to set a group's count; shrinks drain up to the timeout (s)."""

    group: SimGroup
    to_count: int
    decommission_timeout_s: float = DEFAULT_DECOMMISSION_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Bounds:
    """Bounds are the node counts every policy keeps to, per role, taken from the configuration's groups.

    CORE is fixed at its minimum unless the configuration makes it scalable, so all policies share the limits.
    """

    core_min: int
    core_max: int
    task_min: int
    task_max: int

    @classmethod
    def of(cls, policy: ScalingPolicy) -> Bounds:
        """Of reads the limits of a ScalingPolicy."""
        core = policy.groups.core
        task = policy.groups.task
        core_max = core.max_nodes if core.scalable else core.min_nodes
        task_min, task_max = (task.min_nodes, task.max_nodes) if task.scalable else (task.min_nodes, task.min_nodes)
        return cls(core_min=core.min_nodes, core_max=core_max, task_min=task_min, task_max=task_max)

    @property
    def min_nodes(self) -> int:
        """Min_nodes is the smallest cluster (CORE + TASK)."""
        return self.core_min + self.task_min

    @property
    def max_nodes(self) -> int:
        """Max_nodes is the largest cluster (CORE + TASK)."""
        return self.core_max + self.task_max


class SimPolicy(Protocol):
    """SimPolicy is one scaling policy under simulation: evaluated every `interval_s` (s).

    A policy may also have `on_warning(cluster, feed, now_s, node) -> list[GroupResize]`, called the moment EC2
    warns that a Spot node goes in `ClusterSpec.spot_warning_s` (the engine looks it up; most policies have none).
    """

    name: str
    interval_s: float

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts is the (CORE, TASK) node count the cluster starts with."""
        ...

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide returns the resizes to apply now (often none)."""
        ...


def nodes_needed(cluster: SimCluster) -> int:
    """Nodes_needed is how many nodes the allocated plus pending YARN memory and vcores fill (rounded up)."""
    capacity = cluster.capacity
    by_memory = math.ceil((cluster.allocated_mb + cluster.pending_mb) / capacity.memory_mb)
    by_vcores = math.ceil((cluster.allocated_vcores + cluster.pending_vcores) / capacity.vcores)
    return max(by_memory, by_vcores)


def resize_to(cluster: SimCluster, bounds: Bounds, target: int) -> list[GroupResize]:
    """Resize_to moves the cluster's requested total toward `target`: CORE grows first, TASK shrinks first."""
    target = max(bounds.min_nodes, min(bounds.max_nodes, target))
    core, task = cluster.core, cluster.task
    current = core.requested + task.requested
    if target == current:
        return []
    if target > current:
        core_to = min(bounds.core_max, max(core.requested, target - task.requested))
        task_to = min(bounds.task_max, target - core_to)
        task_to = max(task_to, task.requested)
    else:
        remove = current - target
        task_to = max(bounds.task_min, task.requested - remove)
        remove -= task.requested - task_to
        core_to = max(bounds.core_min, core.requested - remove)
    return [GroupResize(g, n) for g, n in ((core, core_to), (task, task_to)) if n != g.requested]
