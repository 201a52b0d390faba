"""Plot the cost/wait frontier with each policy on it, and capacity against demand over time, one panel per policy.

matplotlib, Agg backend: no display needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emr_autoscaler_dev.sim.engine import RunResult
from emr_autoscaler_dev.sim.run import Benchmark


def _frontier_panel(ax: Any, results: Sequence[RunResult], benchmark: Benchmark) -> None:
    points = benchmark.frontier.points
    envelope = benchmark.frontier.envelope
    # Waits span seconds to hours: a log axis, with zero waits drawn at 1 s (the gaps' floor too).
    ax.scatter(
        [p.node_hours for p in points],
        [max(1.0, p.wait_p95_s) for p in points],
        s=10,
        color="#adb5bd",
        label="swept: static sizes, clairvoyant cap × headroom",
    )
    ax.step(
        [p.node_hours for p in envelope],
        [max(1.0, p.wait_p95_s) for p in envelope],
        where="post",
        color="#264653",
        lw=1.2,
        label="frontier (lower envelope)",
    )
    ax.axvline(benchmark.work_node_hours, color="#e63946", lw=0.9, ls="--", label="bound: work_node_hours")
    zero = benchmark.zero_delay
    ax.scatter([zero.node_hours], [max(1.0, zero.wait_p95_s)], marker="s", s=25, color="#6c757d", label="zero-delay")
    for result in results:
        ax.scatter([result.node_hours], [max(1.0, result.wait_p95_s)], s=30, color="#e76f51", zorder=3)
        ax.annotate(
            result.policy,
            (result.node_hours, max(1.0, result.wait_p95_s)),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.set_yscale("log")
    ax.set_xlabel("node-hours")
    ax.set_ylabel("p95 wait, s (log)")
    ax.set_title("cost/wait: every policy against the frontier (lower-left is better)", fontsize=9, loc="left")
    ax.legend(loc="upper right", fontsize=7)


def plot_runs(
    results: Sequence[RunResult], path: str | Path, title: str, max_nodes: int, benchmark: Benchmark | None = None
) -> None:
    """Plot_runs writes a PNG: the frontier panel (with `benchmark`), then per policy demand vs capacity.

    Demand is YARN's allocated + pending memory in nodes' worth; above 1.5 × `max_nodes` it is clipped, and the
    panel says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("nothing to plot")
    top = max(1.0, 1.5 * max_nodes)
    extra = 1 if benchmark is not None else 0
    heights = [3.2] * extra + [2.1] * len(results)
    fig, axes = plt.subplots(
        len(results) + extra,
        1,
        figsize=(11, sum(heights) + 0.8),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    if benchmark is not None:
        _frontier_panel(axes[0, 0], results, benchmark)
    series_axes = axes[extra:, 0]
    for ax, result in zip(series_axes, results, strict=True):
        series = result.series
        hours = [t / 3600.0 for t in series.time_s]
        demand = [min(d, top) for d in series.demand_nodes]
        ax.fill_between(hours, demand, step="post", color="#f4a261", alpha=0.45, label="demand (allocated + pending)")
        ax.step(hours, series.capacity_nodes, where="post", color="#264653", lw=1.1, label="running capacity")
        ax.step(hours, series.billed_nodes, where="post", color="#e76f51", lw=0.8, ls="--", label="billed nodes")
        ax.axhline(max_nodes, color="grey", lw=0.6, ls=":")
        ax.set_ylim(0, top)
        ax.set_ylabel("nodes")
        ax.set_title(
            f"{result.policy}: {result.node_hours:.0f} node-h, wait p95 {result.wait_p95_s:.0f} s, "
            f"mean bounded slowdown {result.mean_bounded_slowdown:.2f}, {result.resize_actions} resizes",
            fontsize=9,
            loc="left",
        )
    for ax in series_axes[1:]:
        ax.sharex(series_axes[0])
    series_axes[0].legend(loc="upper right", fontsize=7, ncol=3)
    series_axes[-1].set_xlabel(f"simulated hours (demand clipped at {top:.0f} nodes; dotted line: max nodes)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


def plot_frontiers(panels: Sequence[tuple[str, Sequence[RunResult], Benchmark]], path: str | Path) -> None:
    """Plot_frontiers writes a PNG of cost/wait panels only, one per workload: every result against its frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("nothing to plot")
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.6 * len(panels) + 0.4), squeeze=False)
    for ax, (title, results, benchmark) in zip(axes[:, 0], panels, strict=True):
        _frontier_panel(ax, results, benchmark)
        ax.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
