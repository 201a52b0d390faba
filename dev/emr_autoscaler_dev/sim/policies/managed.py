"""`managed-like`: a model of EMR Managed Scaling. Its algorithm is unpublished; these are the assumptions.

- It evaluates every `interval_s` (10 s; AWS says 5-10 s) on fresh in-cluster YARN metrics, not CloudWatch.
- Its target is the nodes that the allocated plus pending YARN memory and vcores fill, within the cluster's
  [min, max]; it counts nodes still starting, so it never asks twice for the same demand, and has no step
  budget: it goes to the target in one action.
- Out, CORE grows first (up to its maximum), then TASK; in, TASK shrinks first, then CORE.
- It shrinks only when the target has stayed below the current size for `scale_in_after_s` (60 s), so a
  momentary dip between a job's map and reduce phases does not drain nodes; shrinks decommission gracefully
  (EMR's default timeout), idlest nodes first.
"""

from __future__ import annotations

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize, nodes_needed, resize_to


class ManagedLikePolicy:
    """ManagedLikePolicy sizes the cluster to YARN's allocated plus pending demand (times in s)."""

    name = "managed-like"

    def __init__(self, bounds: Bounds, interval_s: float = 10.0, scale_in_after_s: float = 60.0) -> None:
        self.bounds = bounds
        self.interval_s = interval_s
        self.scale_in_after_s = scale_in_after_s
        self.below_since_s: float | None = None
        self.targets: list[int] = []

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts starts at the configured minimum."""
        return bounds.core_min, bounds.task_min

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide moves toward the demand's node count: up at once, down once it held for `scale_in_after_s`."""
        bounds = self.bounds
        target = max(bounds.min_nodes, min(bounds.max_nodes, nodes_needed(cluster)))
        current = cluster.core.requested + cluster.task.requested
        resizes: list[GroupResize] = []
        if target > current:
            self.below_since_s = None
            resizes = resize_to(cluster, bounds, target)
        elif target < current:
            if self.below_since_s is None:
                self.below_since_s = now_s
            if now_s - self.below_since_s >= self.scale_in_after_s:
                resizes = resize_to(cluster, bounds, target)
                self.below_since_s = None
        else:
            self.below_since_s = None
        self.targets.append(
            cluster.core.requested + cluster.task.requested + sum(r.to_count - r.group.requested for r in resizes)
        )
        return resizes
