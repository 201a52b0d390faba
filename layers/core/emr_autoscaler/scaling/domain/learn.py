"""Learn: what each trusted read teaches about the cluster, kept in ScalingState for the next decisions.

- **How fast a backlog drains.** YARN reports how much memory waits, not for how long. Of the memory pending at
  one read, at most what is pending at the next can still wait; the ratio, per minute and smoothed
  (`backlog_kept`), says whether this workload's backlogs clear by themselves (seconds-long containers: near 0)
  or stay (near 1). Scale-out adds nodes only for what is expected to wait still when they start.
- **How long nodes take to start.** From the first decision that put nodes in flight to the read that finds none
  in flight: the cluster's own start delay, smoothed, used instead of the configured one.
- **What demand came lately.** The highest allocated-plus-pending memory within one start delay: scale-in keeps
  room for it, since a node given back now could not be back in time.
"""

from __future__ import annotations

from datetime import datetime

from emr_autoscaler.kernel.models import YarnMetrics
from emr_autoscaler.scaling.domain.decisions import ScalingState

# Weight of the newest observation in the smoothed backlog ratio and start delay.
_SMOOTHING = 0.3
# Until a cluster has shown otherwise, a backlog is assumed to stay (kept whole): the first drain seen moves the
# estimate only by _SMOOTHING, never straight to "clears by itself".
_KEPT_PRIOR = 1.0
# Reads closer than this say little about a per-minute drain (a 5-s gap would raise one ratio to the 12th power).
_MIN_GAP_S = 30.0
# Reads further apart than this say nothing about a backlog's minute-to-minute drain (s).
_MAX_GAP_S = 900.0
# A learned start delay outside these bounds is a measurement problem, not a cluster (s).
_START_DELAY_BOUNDS_S = (120.0, 3600.0)


def start_delay_s(state: ScalingState, configured_s: int) -> float:
    """Start_delay_s is the cluster's learned node start delay, else the configured one (s)."""
    return state.start_delay_s if state.start_delay_s is not None else float(configured_s)


def learn(
    state: ScalingState,
    metrics: YarnMetrics,
    nodes_in_flight: int,
    now: datetime,
    configured_delay_s: int,
    peak_memory_s: int = 0,
) -> ScalingState:
    """Learn folds one trusted read into the state: backlog drain, start delay, recent demand peak.

    The peak is remembered for one start delay, or `peak_memory_s` when longer.
    """
    update: dict[str, object] = {}
    # A steady cluster learns nothing and writes nothing: the state changes only when there is something to learn
    # (a backlog, an episode of nodes in flight ending, a new or expired peak), so a steady tick costs no write.
    gap_s = (now - state.last_read_at).total_seconds() if state.last_read_at is not None else None
    too_soon = gap_s is not None and gap_s < _MIN_GAP_S
    if (metrics.pending_memory_mb or state.last_pending_mb) and not too_soon:
        update["last_pending_mb"] = metrics.pending_memory_mb
        update["last_read_at"] = now
    # A backlog cleared by nodes of ours arriving says nothing of how it drains by itself: no credit meanwhile.
    if state.last_pending_mb and gap_s is not None and _MIN_GAP_S <= gap_s <= _MAX_GAP_S and not nodes_in_flight:
        kept = min(1.0, metrics.pending_memory_mb / state.last_pending_mb) ** (60.0 / gap_s)
        previous = _KEPT_PRIOR if state.backlog_kept is None else state.backlog_kept
        update["backlog_kept"] = previous + _SMOOTHING * (kept - previous)
    if nodes_in_flight == 0 and state.in_flight_since is not None:
        took_s = (now - state.in_flight_since).total_seconds()
        low, high = _START_DELAY_BOUNDS_S
        if low < took_s <= high:
            previous_s = state.start_delay_s
            update["start_delay_s"] = took_s if previous_s is None else previous_s + _SMOOTHING * (took_s - previous_s)
        update["in_flight_since"] = None
    demand_mb = metrics.allocated_memory_mb + metrics.pending_memory_mb
    window_s = max(start_delay_s(state, configured_delay_s), peak_memory_s)
    peak_at = state.demand_peak_at
    # The peak is stamped when first reached (a plateau is not rewritten every minute: a steady load writes nothing);
    # it counts as lasting until utilization went low, so room is kept for one window after a plateau ends.
    low_since = state.low_utilization_since
    anchor = low_since if peak_at is not None and low_since is not None and low_since > peak_at else peak_at
    if (
        state.demand_peak_mb is None
        or anchor is None
        or ((now - anchor).total_seconds() > window_s and demand_mb < state.demand_peak_mb)
        or demand_mb > state.demand_peak_mb
    ):
        update["demand_peak_mb"] = demand_mb
        update["demand_peak_at"] = now
    return state.model_copy(update=update) if update else state


def expected_waiting_mb(state: ScalingState, pending_mb: int, delay_s: float, trust_pct: float) -> float:
    """Expected_waiting_mb is how much of `pending_mb` should still wait after `delay_s`, as far as it is trusted.

    With no backlog history every pending MB counts; `trust_pct` 0 ignores the history, 100 believes it fully.
    """
    kept = state.backlog_kept
    if kept is None or trust_pct <= 0:
        return float(pending_mb)
    survival: float = kept ** (delay_s / 60.0 * trust_pct / 100.0)
    return pending_mb * survival
