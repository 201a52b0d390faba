"""`oracle`: knows future demand and starts nodes exactly one start delay ahead, the lower bound.

Its knowledge is a schedule of node counts, measured by replaying the same trace on an ideal cluster whose
nodes start instantly and which follows the allocated plus pending demand every 10 s (`managed-like` with no
scale-in delay). On the real cluster the oracle asks, at each time t, for the most nodes that schedule needs
anywhere in [t, t + start delay + jitter]: every node is running when its demand arrives and is kept only
while some demand within one start delay needs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize, resize_to


class OraclePolicy:
    """OraclePolicy follows a known schedule of node counts (one entry per `interval_s` s), `lookahead_s` early."""

    name = "oracle"

    def __init__(self, bounds: Bounds, schedule: Sequence[int], lookahead_s: float, interval_s: float = 10.0) -> None:
        if not schedule:
            raise ValueError("the oracle needs a non-empty schedule")
        self.bounds = bounds
        self.schedule = tuple(schedule)
        self.interval_s = interval_s
        self.window = max(1, math.ceil(lookahead_s / interval_s) + 1)

    def target(self, now_s: float) -> int:
        """Target is the most nodes the schedule needs within the lookahead from `now_s`."""
        start = min(int(now_s // self.interval_s), len(self.schedule) - 1)
        return max(self.schedule[start : start + self.window])

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts is what the first lookahead needs: the oracle provisioned it before time zero."""
        target = max(bounds.min_nodes, min(bounds.max_nodes, self.target(0.0)))
        core = max(bounds.core_min, min(bounds.core_max, target - bounds.task_min))
        return core, max(bounds.task_min, target - core)

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide sets the cluster to the schedule's target for the coming start delay."""
        return resize_to(cluster, self.bounds, self.target(now_s))
