"""What every policy is measured against: a bound on node-hours, a zero-delay reference, a cost/wait frontier.

- `work_node_hours` is a **bound**: the larger of the jobs' container memory-time or vcore-time (whichever binds),
  over one node's capacity, and the fixed nodes (the cluster's minimum, which no policy goes below) billed over
  the shortest possible run (until the last job could end on an unconstrained cluster, or `--until`). A container
  only runs on a billed node and every job takes at least its ideal runtime, so no policy can cost less.
- `zero_delay` is a **reference**, not a bound: the trace on a cluster whose nodes start and stop instantly and
  track demand every 10 s. A policy that lets jobs wait can cost less.
- the **frontier**: the (node-hours, p95 wait) points of a sweep of static sizes and of the clairvoyant policy's
  cap and headroom, and their lower envelope (the points no other point beats on both). Wait is not monotone in
  capacity, so the envelope, not the sweep, is the yardstick. For each policy, `cost_gap` is its node-hours over
  the cheapest envelope point that waits no longer (p95), and `wait_gap` its p95 wait over the shortest p95 wait
  of an envelope point that costs no more; both are None where the policy is beyond the envelope's ends. Waits
  below `WAIT_FLOOR_S` count as that much, so a ratio never divides by zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from emr_autoscaler.kernel.config.scaling import NodeCapacity
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.workload import Job

WAIT_FLOOR_S = 1.0


def work_node_hours(jobs: Sequence[Job], capacity: NodeCapacity, bounds: Bounds, until_s: float | None = None) -> float:
    """Work_node_hours is the node-hours no policy can go below (see the module docstring).

    With `until_s`, a run may stop with work undone, so only the fixed nodes over `until_s` remain a bound.
    """
    horizon_s = max((j.submit_s + j.unconstrained_s for j in jobs), default=0.0)
    fixed = bounds.min_nodes * (horizon_s if until_s is None else until_s) / 3600.0
    if until_s is not None:
        return fixed
    by_memory = sum(j.container_mb_s for j in jobs) / capacity.memory_mb
    by_vcores = sum(j.container_vcore_s for j in jobs) / capacity.vcores
    return max(fixed, max(by_memory, by_vcores) / 3600.0)


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    """FrontierPoint is one swept run's cost (node-hours) and p95 wait (s), with what produced it."""

    label: str
    node_hours: float
    wait_p95_s: float


def lower_envelope(points: Iterable[FrontierPoint]) -> list[FrontierPoint]:
    """Lower_envelope keeps the points no other point beats on both cost and wait, by node-hours ascending.

    Along the result, node-hours rise and p95 waits strictly fall.
    """
    envelope: list[FrontierPoint] = []
    for point in sorted(points, key=lambda p: (p.node_hours, p.wait_p95_s)):
        if not envelope or point.wait_p95_s < envelope[-1].wait_p95_s:
            envelope.append(point)
    return envelope


@dataclass(frozen=True, slots=True)
class Frontier:
    """Frontier is the swept points and their lower envelope."""

    points: tuple[FrontierPoint, ...]

    @property
    def envelope(self) -> list[FrontierPoint]:
        """Envelope is the frontier's lower envelope (`lower_envelope` of the points)."""
        return lower_envelope(self.points)

    def wait_at(self, node_hours: float) -> float | None:
        """Wait_at is the shortest p95 wait (s) of a point costing at most `node_hours`, or None if none does."""
        waits = [p.wait_p95_s for p in self.points if p.node_hours <= node_hours + 1e-9]
        return min(waits) if waits else None

    def cost_at(self, wait_p95_s: float) -> float | None:
        """Cost_at is the fewest node-hours of a point waiting at most `wait_p95_s` (p95, s), or None if none does."""
        costs = [p.node_hours for p in self.points if p.wait_p95_s <= wait_p95_s + 1e-9]
        return min(costs) if costs else None

    def cost_gap(self, node_hours: float, wait_p95_s: float) -> float | None:
        """Cost_gap is `node_hours` over the frontier's cost at the same p95 wait (1.0: on the frontier)."""
        cost = self.cost_at(wait_p95_s)
        return None if cost is None or cost <= 0 else node_hours / cost

    def wait_gap(self, node_hours: float, wait_p95_s: float) -> float | None:
        """Wait_gap is `wait_p95_s` over the frontier's p95 wait at the same node-hours (waits floored at 1 s)."""
        wait = self.wait_at(node_hours)
        if wait is None:
            return None
        return max(wait_p95_s, WAIT_FLOOR_S) / max(wait, WAIT_FLOOR_S)


def sweep_sizes(low: int, high: int, points: int) -> list[int]:
    """Sweep_sizes is up to `points` node counts spread evenly over [low, high], both ends included."""
    if high <= low or points <= 1:
        return [high]
    step = (high - low) / (points - 1)
    return sorted({low + round(i * step) for i in range(points)})


def headroom_label(cap: int, headroom: float) -> str:
    """Headroom_label names a clairvoyant sweep point, e.g. `clairvoyant cap 14 x0.75`."""
    return f"clairvoyant cap {cap} x{headroom:g}"
