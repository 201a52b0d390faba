"""`clairvoyant`: knows future demand and starts nodes one start delay ahead. A reference, not a bound.

Its knowledge is a schedule of node counts, measured by replaying the same trace on an ideal cluster whose
nodes start instantly and which follows the allocated plus pending demand every 10 s (`managed-like` with no
scale-in delay: the `zero_delay` reference). On the real cluster it asks, at each time t, for the most nodes
that schedule needs anywhere in [t, t + start delay + jitter], times `headroom`, at most `cap_nodes`.

It minimises waiting, not node-hours: with seconds-long containers, the window's maximum stretches every spike
of demand into a start-delay-long plateau. So it is neither a cost bound nor a wait bound: the bounds are
`work_node_hours` and the frontier (`sim/frontier.py`), which sweeps its cap and headroom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize, resize_to


class ClairvoyantPolicy:
    """ClairvoyantPolicy follows a known schedule of node counts (one per `interval_s` s), `lookahead_s` early.

    `headroom` scales the schedule's count (1.0: all of it; 0.5: half, rounded up) and `cap_nodes` caps it;
    both trade waiting for node-hours, and the frontier sweeps them.
    """

    def __init__(
        self,
        bounds: Bounds,
        schedule: Sequence[int],
        lookahead_s: float,
        interval_s: float = 10.0,
        *,
        cap_nodes: int | None = None,
        headroom: float = 1.0,
        name: str = "clairvoyant",
    ) -> None:
        if not schedule:
            raise ValueError("the clairvoyant policy needs a non-empty schedule")
        if not headroom > 0:
            raise ValueError(f"headroom must be positive, not {headroom}")
        self.name = name
        self.bounds = bounds
        self.schedule = tuple(schedule)
        self.interval_s = interval_s
        self.window = max(1, math.ceil(lookahead_s / interval_s) + 1)
        self.cap_nodes = cap_nodes
        self.headroom = headroom
        # The window maximum of every slot, computed once: decide() is called every 10 simulated seconds.
        self._targets = _window_max(self.schedule, self.window)

    def target(self, now_s: float) -> int:
        """Target is the most nodes the schedule needs within the lookahead from `now_s`, scaled and capped."""
        start = min(int(now_s // self.interval_s), len(self.schedule) - 1)
        nodes = math.ceil(self._targets[start] * self.headroom - 1e-9)
        return nodes if self.cap_nodes is None else min(self.cap_nodes, nodes)

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts is what the first lookahead needs: provisioned before time zero."""
        target = max(bounds.min_nodes, min(bounds.max_nodes, self.target(0.0)))
        core = max(bounds.core_min, min(bounds.core_max, target - bounds.task_min))
        return core, max(bounds.task_min, target - core)

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide sets the cluster to the schedule's target for the coming start delay."""
        return resize_to(cluster, self.bounds, self.target(now_s))


def _window_max(values: Sequence[int], window: int) -> list[int]:
    """The maximum of values[i : i + window] for every i (a monotonic deque, O(n))."""
    from collections import deque

    out = [0] * len(values)
    queue: deque[int] = deque()
    for i in range(len(values) - 1, -1, -1):
        while queue and values[queue[-1]] <= values[i]:
            queue.pop()
        queue.append(i)
        while queue[0] >= i + window:
            queue.popleft()
        out[i] = values[queue[0]]
    return out
