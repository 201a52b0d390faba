"""`emr-custom-policy`: EMR's legacy automatic scaling, per-group CloudWatch rules, as AWS documents it.

Each rule watches one `AWS/ElasticMapReduce` metric on 5-minute datapoints; when the last
`evaluation_periods` datapoints all cross the threshold, the group changes by `adjustment` instances
(within its min/max). A rule does not fire while the group is resizing, nor until `cooldown_s` after the
last scaling activity *completed* (AWS: "the amount of time after a scaling activity completes before any
further trigger-related scaling activities can start"). The defaults are the console's full default rule set
(sources in docs/simulator.md): two scale-out rules, +1 instance when YARNMemoryAvailablePercentage < 15 and
+1 when ContainerPendingRatio > 0.75, and one scale-in rule, -1 when YARNMemoryAvailablePercentage > 75; one
5-minute period, 300 s cooldown each. Scale-out rules are checked first. Shrinks use EMR's default graceful
decommission.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed, Datapoint
from emr_autoscaler_dev.sim.policies.base import Bounds, GroupResize

_METRICS: dict[str, Callable[[Datapoint], float]] = {
    "YARNMemoryAvailablePercentage": lambda p: p.yarn_memory_available_pct,
    "ContainerPendingRatio": lambda p: p.container_pending_ratio,
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUAL": operator.le,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUAL": operator.ge,
}


@dataclass(frozen=True, slots=True)
class ScalingRule:
    """ScalingRule is one EMR automatic scaling rule (threshold in the metric's unit, cooldown in s)."""

    name: str
    metric: str
    comparison: str
    threshold: float
    adjustment: int
    evaluation_periods: int = 1
    cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        if self.metric not in _METRICS:
            raise ValueError(f"rule {self.name}: unknown metric {self.metric!r} (known: {', '.join(_METRICS)})")
        if self.comparison not in _COMPARISONS:
            raise ValueError(f"rule {self.name}: unknown comparison {self.comparison!r}")
        if self.evaluation_periods < 1 or self.adjustment == 0:
            raise ValueError(f"rule {self.name}: needs evaluation_periods >= 1 and a non-zero adjustment")

    def breached(self, points: Sequence[Datapoint]) -> bool:
        """Breached is true when the last `evaluation_periods` datapoints all cross the threshold."""
        if len(points) < self.evaluation_periods:
            return False
        value, compare = _METRICS[self.metric], _COMPARISONS[self.comparison]
        return all(compare(value(p), self.threshold) for p in points[-self.evaluation_periods :])


CONSOLE_DEFAULT_RULES = (
    ScalingRule("Default-scale-out-1", "YARNMemoryAvailablePercentage", "LESS_THAN", 15.0, +1),
    ScalingRule("Default-scale-out-2", "ContainerPendingRatio", "GREATER_THAN", 0.75, +1),
    ScalingRule("Default-scale-in", "YARNMemoryAvailablePercentage", "GREATER_THAN", 75.0, -1),
)


class EmrCustomPolicy:
    """EmrCustomPolicy applies CloudWatch rules to the TASK group, looking once a minute for a new datapoint."""

    name = "emr-custom-policy"
    interval_s = 60.0

    def __init__(self, bounds: Bounds, rules: Sequence[ScalingRule] = CONSOLE_DEFAULT_RULES) -> None:
        self.bounds = bounds
        self.rules = tuple(rules)
        self.seen: list[Datapoint] = []
        self.cooldown_until_s = 0.0
        self.activity_cooldown_s: float | None = None

    def initial_counts(self, bounds: Bounds) -> tuple[int, int]:
        """Initial_counts starts at the configured minimum."""
        return bounds.core_min, bounds.task_min

    def decide(self, cluster: SimCluster, feed: CloudWatchFeed, now_s: float) -> list[GroupResize]:
        """Decide evaluates the rules on a newly visible datapoint, as a CloudWatch alarm would."""
        group = cluster.task
        if self.activity_cooldown_s is not None and group.settled:
            self.cooldown_until_s = now_s + self.activity_cooldown_s
            self.activity_cooldown_s = None
        point = feed.latest(now_s)
        if point is None or (self.seen and self.seen[-1] is point):
            return []
        self.seen.append(point)
        if self.activity_cooldown_s is not None or now_s < self.cooldown_until_s:
            return []
        bounds = self.bounds
        for rule in self.rules:
            if not rule.breached(self.seen):
                continue
            to_count = max(bounds.task_min, min(bounds.task_max, group.requested + rule.adjustment))
            if to_count == group.requested:
                continue
            self.activity_cooldown_s = rule.cooldown_s
            return [GroupResize(group, to_count)]
        return []
