"""`managed-like`: a model of EMR Managed Scaling. Its algorithm is unpublished; its parameters are named settings.

What AWS documents (sources in docs/simulator.md): it evaluates cluster metrics every 5 to 10 seconds, on YARN
load, within the cluster's compute limits, and decommissions gracefully. What it does not document, and this
model makes a setting of:

- `interval_s`: how often it evaluates (10 s: AWS's "every 5 to 10 seconds"; 60 s, a slower guess);
- `scale_in_after_s`: how long the target must stay below the current size before it shrinks (60, 300 or 600 s:
  a hold against a momentary dip between a job's map and reduce phases);
- `max_step_nodes`: how many nodes one action may add or remove (None: straight to the target).

Its target is the nodes that the allocated plus pending YARN memory and vcores fill, within [min, max]; it counts
nodes still starting, so it never asks twice for the same demand. Out, CORE grows first (up to its maximum), then
TASK; in, TASK shrinks first, then CORE; idlest nodes first.

`VARIANTS` are the six the benchmark runs ({10 s, 60 s} × {60, 300, 600 s hold}); the headline `managed-like` is
the variant with the best p95 wait among those costing no more than the variants' median (`pick_headline`), so
no headline rests on one guess.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize, nodes_needed, resize_to

NAME = "managed-like"


@dataclass(frozen=True, slots=True)
class ManagedVariant:
    """ManagedVariant is one setting of managed-like's unpublished parameters (times in s)."""

    interval_s: float
    scale_in_after_s: float
    max_step_nodes: int | None = None

    @property
    def name(self) -> str:
        """Name is the variant's policy name, e.g. `managed-like-10s-hold300s`."""
        step = "" if self.max_step_nodes is None else f"-step{self.max_step_nodes}"
        return f"{NAME}-{self.interval_s:g}s-hold{self.scale_in_after_s:g}s{step}"


VARIANTS = tuple(ManagedVariant(i, h) for i in (10.0, 60.0) for h in (60.0, 300.0, 600.0))


class ManagedLikePolicy:
    """ManagedLikePolicy sizes the cluster to YARN's allocated plus pending demand (times in s)."""

    def __init__(
        self,
        bounds: Bounds,
        interval_s: float = 10.0,
        scale_in_after_s: float = 60.0,
        max_step_nodes: int | None = None,
        name: str = NAME,
    ) -> None:
        if max_step_nodes is not None and max_step_nodes < 1:
            raise ValueError(f"max_step_nodes must be >= 1, not {max_step_nodes}")
        self.name = name
        self.bounds = bounds
        self.interval_s = interval_s
        self.scale_in_after_s = scale_in_after_s
        self.max_step_nodes = max_step_nodes
        self.below_since_s: float | None = None
        self.targets: list[int] = []

    @classmethod
    def of(cls, bounds: Bounds, variant: ManagedVariant) -> ManagedLikePolicy:
        """Of builds the policy for one variant, named after it."""
        return cls(bounds, variant.interval_s, variant.scale_in_after_s, variant.max_step_nodes, variant.name)

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts starts at the configured minimum."""
        return bounds.core_min, bounds.task_min

    def _step(self, current: int, target: int) -> int:
        if self.max_step_nodes is None:
            return target
        return max(current - self.max_step_nodes, min(current + self.max_step_nodes, target))

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide moves toward the demand's node count: up at once, down once it held for `scale_in_after_s`."""
        bounds = self.bounds
        target = max(bounds.min_nodes, min(bounds.max_nodes, nodes_needed(cluster)))
        current = cluster.core.requested + cluster.task.requested
        resizes: list[GroupResize] = []
        if target > current:
            self.below_since_s = None
            resizes = resize_to(cluster, bounds, self._step(current, target))
        elif target < current:
            if self.below_since_s is None:
                self.below_since_s = now_s
            if now_s - self.below_since_s >= self.scale_in_after_s:
                resizes = resize_to(cluster, bounds, self._step(current, target))
                self.below_since_s = None
        else:
            self.below_since_s = None
        self.targets.append(current + sum(r.to_count - r.group.requested for r in resizes))
        return resizes


class _Scored(Protocol):
    @property
    def node_hours(self) -> float: ...

    @property
    def wait_p95_s(self) -> float: ...


def pick_headline[R: _Scored](results: Sequence[R]) -> R:
    """Pick_headline is the variant with the best p95 wait among those costing no more than the median (node-hours).

    Ties go to the cheaper variant. Raises ValueError for no results.
    """
    if not results:
        raise ValueError("no managed-like variant to pick from")
    median = statistics.median(r.node_hours for r in results)
    affordable = [r for r in results if r.node_hours <= median + 1e-9]
    return min(affordable, key=lambda r: (r.wait_p95_s, r.node_hours))
