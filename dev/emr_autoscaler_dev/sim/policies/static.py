"""`static`: a cluster fixed at one size for the whole run, never evaluated (the no-autoscaling baseline)."""

from __future__ import annotations

import math

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize


class StaticPolicy:
    """StaticPolicy keeps `nodes` nodes (CORE at its minimum, TASK the rest); None means the largest cluster."""

    name = "static"
    interval_s = math.inf

    def __init__(self, nodes: int | None = None) -> None:
        self.nodes = nodes

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts is the fixed size, provisioned before the trace starts."""
        nodes = bounds.max_nodes if self.nodes is None else self.nodes
        core = max(bounds.core_min, min(bounds.core_max, nodes))
        return core, max(0, nodes - core)

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide never resizes."""
        return []
