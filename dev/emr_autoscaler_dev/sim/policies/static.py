"""`static`: a cluster fixed at one size for the whole run, never evaluated (the no-autoscaling baseline)."""

from __future__ import annotations

import math

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize


class StaticPolicy:
    """StaticPolicy keeps `nodes` nodes (CORE at its minimum, TASK the rest); None means the largest cluster."""

    interval_s = math.inf

    def __init__(self, nodes: int | None = None, name: str = "static") -> None:
        self.nodes = nodes
        self.name = name

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts is the fixed size within the cluster's limits, provisioned before the trace starts."""
        nodes = bounds.max_nodes if self.nodes is None else max(bounds.min_nodes, min(bounds.max_nodes, self.nodes))
        core = max(bounds.core_min, min(bounds.core_max, nodes - bounds.task_min))
        return core, max(bounds.task_min, nodes - core)

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide never resizes."""
        return []
